// Package data ships the dive-site corpus: one markdown file per site under
// sites/, embedded in the binary. `seed` loads it through the ingestion
// pipeline (package knowledge); `ingest DIR` loads any folder of such files.
package data

import (
	"embed"
	"io/fs"
)

//go:embed sites/*.md
var sites embed.FS

// Sites is the corpus, one <slug>.md file per dive site at its root.
func Sites() fs.FS {
	sub, err := fs.Sub(sites, "sites")
	if err != nil {
		panic(err) // the embedded path is fixed at build time
	}
	return sub
}
