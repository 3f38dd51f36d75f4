package planner

import (
	"context"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/dovvydive/backend/knowledge"
	"github.com/dovvydive/backend/knowledge/embedding"
	"github.com/dovvydive/backend/models"
	"github.com/dovvydive/backend/seeds"
)

// corpus is the real site corpus held in memory: the sites with operators,
// and chunks of both bodies embedded with the hash embedder. It stands in for
// the database so the orchestrator is tested on real facts and text.
type corpus struct {
	sites  []Site
	chunks []memChunk
}

type memChunk struct {
	p   Passage
	vec []float32
}

var (
	corpusOnce sync.Once
	corpusVal  *corpus
	corpusErr  error
)

func loadCorpus(t testing.TB) *corpus {
	t.Helper()
	corpusOnce.Do(func() { corpusVal, corpusErr = buildCorpus() })
	require.NoError(t, corpusErr)
	return corpusVal
}

func buildCorpus() (*corpus, error) {
	ops, err := seeds.Operators()
	if err != nil {
		return nil, err
	}
	opBySlug := map[string]models.DiveOperator{}
	for _, o := range ops {
		opBySlug[o.Slug] = o
	}
	docs, err := seeds.Sites()
	if err != nil {
		return nil, err
	}
	c := &corpus{}
	h := embedding.Hash{}
	for _, doc := range docs {
		m := doc.Site
		for _, slug := range doc.OperatorSlugs {
			if o, ok := opBySlug[slug]; ok {
				m.Operators = append(m.Operators, o)
			}
		}
		s := SiteFromModel(m)
		c.sites = append(c.sites, s)
		chunks := knowledge.Split(doc.English, 200, 30)
		n := len(chunks)
		for _, ch := range knowledge.Split(doc.Chinese, 200, 30) {
			ch.Index += n
			chunks = append(chunks, ch)
		}
		for _, ch := range chunks {
			vecs, _ := h.EmbedDocuments(context.Background(), []string{s.NameEn + "\n\n" + ch.Text})
			c.chunks = append(c.chunks, memChunk{p: Passage{SiteID: s.ID, Slug: s.Slug, ChunkIndex: ch.Index, Text: ch.Text}, vec: vecs[0]})
		}
	}
	return c, nil
}

// memRetriever searches the corpus: cosine similarity for vectors, and a
// count of shared words (names weighted higher) for text.
type memRetriever struct {
	c          *corpus
	vecCalls   atomic.Int64
	textCalls  atomic.Int64
	lastQuery  atomic.Value
	vecErr     error
	textErr    error
	onlyVector bool
}

func (r *memRetriever) VectorSearch(ctx context.Context, vec []float32, k int) ([]Passage, error) {
	r.vecCalls.Add(1)
	if r.vecErr != nil {
		return nil, r.vecErr
	}
	type scored struct {
		p Passage
		s float64
	}
	var all []scored
	for _, ch := range r.c.chunks {
		var dot float64
		for i := range vec {
			dot += float64(vec[i]) * float64(ch.vec[i])
		}
		p := ch.p
		p.Score = dot
		all = append(all, scored{p, dot})
	}
	slices.SortStableFunc(all, func(a, b scored) int {
		if a.s != b.s {
			return int(math.Copysign(1, b.s-a.s))
		}
		return strings.Compare(a.p.Slug, b.p.Slug)
	})
	out := make([]Passage, 0, k)
	for _, s := range all[:min(k, len(all))] {
		out = append(out, s.p)
	}
	return out, nil
}

func (r *memRetriever) TextSearch(ctx context.Context, query string, k int) ([]Passage, error) {
	r.textCalls.Add(1)
	r.lastQuery.Store(query)
	if r.textErr != nil {
		return nil, r.textErr
	}
	if r.onlyVector {
		return nil, nil
	}
	words := embedding.Words(query)
	names := map[uuid.UUID]string{}
	for _, s := range r.c.sites {
		names[s.ID] = strings.ToLower(s.NameEn + " " + s.NameZh)
	}
	type scored struct {
		p Passage
		s int
	}
	var all []scored
	for _, ch := range r.c.chunks {
		text := strings.ToLower(ch.p.Text)
		n := 0
		for _, w := range words {
			if len([]rune(w)) < 3 && !isHan(w) {
				continue
			}
			if strings.Contains(names[ch.p.SiteID], w) {
				n += 3
			}
			if strings.Contains(text, w) {
				n++
			}
		}
		if n > 0 {
			p := ch.p
			p.Score = float64(n)
			all = append(all, scored{p, n})
		}
	}
	slices.SortStableFunc(all, func(a, b scored) int { return b.s - a.s })
	out := make([]Passage, 0, k)
	for _, s := range all[:min(k, len(all))] {
		out = append(out, s.p)
	}
	return out, nil
}

func isHan(w string) bool { return detectLanguage(w) == LangZh }

type memCatalog struct {
	sites []Site
	calls atomic.Int64
	err   error
}

func (c *memCatalog) Sites(ctx context.Context) ([]Site, error) {
	c.calls.Add(1)
	return c.sites, c.err
}

// site finds a corpus site by slug.
func (c *corpus) site(t *testing.T, slug string) Site {
	t.Helper()
	for _, s := range c.sites {
		if s.Slug == slug {
			return s
		}
	}
	t.Fatalf("no site %s in the corpus", slug)
	return Site{}
}

func (c *corpus) passages(slug string) []Passage {
	var out []Passage
	for _, ch := range c.chunks {
		if ch.p.Slug == slug {
			out = append(out, ch.p)
		}
	}
	return out
}
