// Package migrations holds the schema as goose SQL files, embedded in the
// binary. The same files work with the standard goose CLI:
//
//	goose -dir migrations postgres "$DATABASE_URL" up
package migrations

import (
	"embed"
	"io/fs"

	"github.com/pressly/goose/v3"
)

// FS holds every migration; its root is this directory.
//
//go:embed *.sql
var FS embed.FS

// Latest is the highest migration version in FS: the version a database must
// be at for this binary to serve it.
func Latest() int64 {
	var latest int64
	entries, _ := fs.ReadDir(FS, ".")
	for _, e := range entries {
		if v, err := goose.NumericComponent(e.Name()); err == nil && v > latest {
			latest = v
		}
	}
	return latest
}
