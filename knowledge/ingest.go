package knowledge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/dovvydive/backend/knowledge/embedding"
	"github.com/dovvydive/backend/models"
)

// Store is what ingestion needs from the database.
type Store interface {
	UpsertDiveData(ctx context.Context, operators []models.DiveOperator, sites []models.DiveSite) (models.UpsertResult, error)
	SiteDocument(ctx context.Context, siteID uuid.UUID) (models.DocumentState, error)
	ReplaceChunks(ctx context.Context, siteID uuid.UUID, docHash, model string, chunks []models.ChunkRow) error
}

// Options tunes Ingest. Zero values take the defaults.
type Options struct {
	Reembed     bool      // embed every file again, changed or not
	Progress    io.Writer // nil: no progress output
	Interactive bool      // Progress is a terminal: redraw one bar instead of printing lines
	BatchSize   int       // texts per embedding call; default 64
	MaxTokens   int       // per chunk; default 500
	Overlap     int       // tokens repeated from the previous chunk; default 50
}

// Summary counts what a run did.
type Summary struct {
	Files, Loaded, Unchanged, Failed, Chunks int
	Problems                                 []error // one per failed file, naming it
}

// Ingest loads every *.md file in fsys: it upserts the site, splits the
// English and the Chinese text into chunks (English first, then Chinese,
// numbered on from the English), embeds them in batches and replaces the site's
// chunks in one transaction. Files whose content and model are already
// stored are skipped. A malformed file is reported and skipped; the database
// becoming unavailable stops the run.
func Ingest(ctx context.Context, fsys fs.FS, store Store, emb embedding.Embedder, opts Options) (Summary, error) {
	opts = withDefaults(opts)
	names, err := fs.Glob(fsys, "*.md")
	if err != nil {
		return Summary{}, fmt.Errorf("list documents: %w", err)
	}
	slices.Sort(names)
	sum := Summary{Files: len(names)}
	progress := newProgress(opts, len(names))
	for _, name := range names {
		err := ingestFile(ctx, fsys, name, store, emb, opts, &sum)
		if err != nil {
			if errors.Is(err, models.ErrUnavailable) || ctx.Err() != nil {
				return sum, fmt.Errorf("ingest %s: %w", name, err)
			}
			sum.Failed++
			sum.Problems = append(sum.Problems, err)
		}
		progress.step(name, sum)
	}
	progress.done()
	return sum, nil
}

func withDefaults(o Options) Options {
	if o.BatchSize <= 0 {
		o.BatchSize = 64
	}
	if o.MaxTokens <= 0 {
		o.MaxTokens = 500
	}
	if o.Overlap <= 0 {
		o.Overlap = 50
	}
	return o
}

func ingestFile(ctx context.Context, fsys fs.FS, name string, store Store, emb embedding.Embedder, opts Options, sum *Summary) error {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	doc, err := ParseDocument(path.Base(name), data)
	if err != nil {
		return err
	}
	if !opts.Reembed {
		st, err := store.SiteDocument(ctx, doc.Site.ID)
		if err != nil {
			return err
		}
		if st.Found && st.ContentHash == doc.Hash && st.Model == emb.Model() {
			sum.Unchanged++
			return nil
		}
	}
	site := doc.Site
	for _, slug := range doc.OperatorSlugs {
		site.Operators = append(site.Operators, models.DiveOperator{ID: models.OperatorID(slug), Slug: slug})
	}
	if _, err := store.UpsertDiveData(ctx, nil, []models.DiveSite{site}); err != nil {
		if errors.Is(err, models.ErrUnavailable) {
			return err
		}
		return fmt.Errorf("%s: store site (are its operators loaded?): %w", name, err)
	}
	rows, err := embedChunks(ctx, emb, "en", doc.Site.NameEn, Split(doc.English, opts.MaxTokens, opts.Overlap), 0, opts.BatchSize)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if strings.TrimSpace(doc.Chinese) != "" {
		zh, err := embedChunks(ctx, emb, "zh", doc.Site.NameZh, Split(doc.Chinese, opts.MaxTokens, opts.Overlap), len(rows), opts.BatchSize)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		rows = append(rows, zh...)
	}
	if err := store.ReplaceChunks(ctx, doc.Site.ID, doc.Hash, emb.Model(), rows); err != nil {
		return fmt.Errorf("%s: store chunks: %w", name, err)
	}
	sum.Loaded++
	sum.Chunks += len(rows)
	return nil
}

// embedChunks embeds each chunk with the site's name in its language before
// it, so a chunk that never repeats the name is still found by it; the rows
// are numbered from first.
func embedChunks(ctx context.Context, emb embedding.Embedder, lang, title string, chunks []Chunk, first, batch int) ([]models.ChunkRow, error) {
	rows := make([]models.ChunkRow, 0, len(chunks))
	for start := 0; start < len(chunks); start += batch {
		part := chunks[start:min(start+batch, len(chunks))]
		texts := make([]string, len(part))
		for i, c := range part {
			texts[i] = title + "\n\n" + c.Text
		}
		vecs, err := emb.EmbedDocuments(ctx, texts)
		if err != nil {
			return nil, fmt.Errorf("embed: %w", err)
		}
		if len(vecs) != len(part) {
			return nil, fmt.Errorf("embed: %w: %d vectors for %d texts", embedding.ErrInvalidVector, len(vecs), len(part))
		}
		for i, c := range part {
			if err := embedding.Check(vecs[i], emb.Dimensions()); err != nil {
				return nil, fmt.Errorf("embed chunk %d: %w", c.Index, err)
			}
			h := sha256.Sum256([]byte(c.Text))
			rows = append(rows, models.ChunkRow{Index: first + c.Index, Language: lang, Content: c.Text, TokenCount: c.Tokens,
				ContentHash: hex.EncodeToString(h[:]), Embedding: vecs[i]})
		}
	}
	return rows, nil
}

// progress reports a long run: a redrawn bar on a terminal, otherwise a
// line at most every two seconds (and at the end).
type progress struct {
	opts  Options
	total int
	n     int
	last  time.Time
}

func newProgress(opts Options, total int) *progress {
	return &progress{opts: opts, total: total, last: time.Now()}
}

func (p *progress) step(name string, s Summary) {
	p.n++
	if p.opts.Progress == nil {
		return
	}
	if p.opts.Interactive {
		width := 30
		filled := width * p.n / max(p.total, 1)
		fmt.Fprintf(p.opts.Progress, "\r[%-*s] %d/%d files, %d chunks", width, strings.Repeat("#", filled), p.n, p.total, s.Chunks)
		return
	}
	if time.Since(p.last) >= 2*time.Second || p.n == p.total {
		fmt.Fprintf(p.opts.Progress, "ingest: %d/%d files (%s), %d chunks written\n", p.n, p.total, name, s.Chunks)
		p.last = time.Now()
	}
}

func (p *progress) done() {
	if p.opts.Progress != nil && p.opts.Interactive {
		fmt.Fprintln(p.opts.Progress)
	}
}
