package planner

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dovvydive/backend/models"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"github.com/dovvydive/backend/knowledge"
	"github.com/dovvydive/backend/knowledge/embedding"
)

// Retriever finds passages for a question. The database implements it.
type Retriever interface {
	VectorSearch(ctx context.Context, vec []float32, k int) ([]Passage, error) // nearest chunks, best first
	TextSearch(ctx context.Context, query string, k int) ([]Passage, error)    // full-text + trigram on chunks and site names (en+zh), best first
}

// Catalog lists every site with its facts and operators (tens of rows).
type Catalog interface {
	Sites(ctx context.Context) ([]Site, error)
}

// Config wires a Planner. Embedder, Retriever, Catalog and Generator are required.
type Config struct {
	Embedder  embedding.Embedder
	Retriever Retriever
	Catalog   Catalog
	Generator Generator

	Depth           int           // passages asked of each list and kept for fusion; default RRFDepth
	MaxSites        int           // sites per answer; default 3
	PassagesPerSite int           // passages per chosen site handed to the generator; default 2
	HistoryTurns    int           // most recent turns handed to the generator; default 10
	CatalogTTL      time.Duration // how long the site list is reused; default one minute, negative to reload every time
	// Now is the clock relative dates ("next month") are read on; default
	// time.Now. The evaluation fixes it to its questions' reference date.
	Now func() time.Time
}

// Planner turns a diver's message into a grounded reply.
type Planner struct {
	cfg Config

	mu       sync.Mutex
	sites    []Site
	loadedAt time.Time
}

// New returns a Planner. It does no I/O.
func New(cfg Config) (*Planner, error) {
	if cfg.Embedder == nil || cfg.Retriever == nil || cfg.Catalog == nil || cfg.Generator == nil {
		return nil, errors.New("planner: embedder, retriever, catalog and generator are required")
	}
	if cfg.Depth < 1 {
		cfg.Depth = RRFDepth
	}
	if cfg.MaxSites < 1 {
		cfg.MaxSites = 3
	}
	if cfg.PassagesPerSite < 1 {
		cfg.PassagesPerSite = 2
	}
	if cfg.HistoryTurns < 1 {
		cfg.HistoryTurns = models.HistoryTurns
	}
	if cfg.CatalogTTL == 0 {
		cfg.CatalogTTL = time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Planner{cfg: cfg}, nil
}

// Turn is one diver message with its conversation so far.
type Turn struct {
	Message         string
	History         []Message   // earlier turns of this conversation, oldest first
	PrevConstraints Constraints // the constraints of the previous reply
}

// SiteRef is a recommended site in a Reply.
type SiteRef struct {
	ID          uuid.UUID `json:"id"`
	Slug        string    `json:"slug"`
	NameEn      string    `json:"nameEn"`
	NameZh      string    `json:"nameZh"`
	Reason      string    `json:"reason"`
	Alternative bool      `json:"alternative"` // nothing fitted; this is the nearest alternative
	Wishes      []string  `json:"-"`           // the diver's wishes the site was offered for
}

// Reply is the planner's answer to a Turn.
type Reply struct {
	Content     string      `json:"content"`
	Citations   []Citation  `json:"citations"`
	Sites       []SiteRef   `json:"sites"`
	Constraints Constraints `json:"constraints"`
	Model       string      `json:"model"`
	Refused     bool        `json:"-"`
}

// Plan answers a message: extract constraints, embed the message, search by
// vector and by text, fuse the lists by reciprocal rank, rank the sites,
// filter them by the constraints, and have the generator write the answer
// (streamed through emit when it is not nil). A failing embedder or
// generator service is an *ErrUpstream; a cancelled context stops work.
func (p *Planner) Plan(ctx context.Context, turn Turn, emit func(string) error) (Reply, error) {
	cons := ExtractOn(turn.Message, turn.PrevConstraints, p.cfg.Now())
	query := retrievalQuery(turn.Message, cons)

	vec, err := p.cfg.Embedder.EmbedQuery(ctx, query)
	if err != nil {
		return Reply{}, upstream("embedding", err)
	}

	var vecHits, textHits []Passage
	var sites []Site
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		vecHits, err = p.cfg.Retriever.VectorSearch(gctx, vec, p.cfg.Depth)
		if err != nil {
			return fmt.Errorf("vector search: %w", err)
		}
		return nil
	})
	g.Go(func() (err error) {
		textHits, err = p.cfg.Retriever.TextSearch(gctx, query, p.cfg.Depth)
		if err != nil {
			return fmt.Errorf("text search: %w", err)
		}
		return nil
	})
	g.Go(func() (err error) {
		sites, err = p.catalog(gctx)
		return err
	})
	if err := g.Wait(); err != nil {
		return Reply{}, err
	}

	fused := Fuse([][]Passage{vecHits, textHits}, RRFK, p.cfg.Depth)
	asked := intents(turn.Message)
	named := namedSites(turn.Message, sites)
	if len(named) > 0 {
		// A site's own name is not a wish: "Turtle Cavern" asks about the
		// cavern, not for turtles.
		// Only the wishes are read again: the name may also be a place
		// ("Mantabuan Island").
		cons.Wishes = ExtractOn(maskSiteNames(turn.Message, sites, named), turn.PrevConstraints, p.cfg.Now()).Wishes
	}
	if len(named) == 0 && hasIntent(asked, IntentCan) && len(cons.Places) > 0 {
		for _, s := range sites { // "can I dive Sipadan?": every site there
			if matchesPlace(s, cons.Places) {
				named = append(named, s.Slug)
			}
		}
	}
	sel := Select(candidates(sites, fused), cons, p.cfg.MaxSites, named...)
	req := p.request(turn, cons, sel, asked)

	ans, err := p.cfg.Generator.Generate(ctx, req, emit)
	if err != nil {
		if ctx.Err() != nil {
			return Reply{}, ctx.Err()
		}
		return Reply{}, fmt.Errorf("generate: %w", err)
	}
	reply := Reply{Content: ans.Content, Citations: ans.Citations, Constraints: cons, Model: ans.Model, Refused: ans.Refused}
	if reply.Citations == nil {
		reply.Citations = []Citation{}
	}
	reply.Sites = []SiteRef{}
	for _, cs := range req.Sites {
		reply.Sites = append(reply.Sites, SiteRef{ID: cs.Site.ID, Slug: cs.Site.Slug, NameEn: cs.Site.NameEn,
			NameZh: cs.Site.NameZh, Reason: cs.Reason, Alternative: cs.Alternative, Wishes: slices.Clone(cs.Wishes)})
	}
	return reply, nil
}

// upstream marks an embedding failure as the embedding service's (the
// embedder has already retried what was worth retrying), unless the caller
// gave up.
func upstream(name string, err error) error {
	var up *ErrUpstream
	if errors.As(err, &up) || errors.Is(err, context.Canceled) {
		return err
	}
	return &ErrUpstream{Name: name, Err: err}
}

// catalog returns the sites, reusing them for CatalogTTL: they change only
// when the corpus is seeded, and reloading them on every message would cost
// a database round trip each time.
func (p *Planner) catalog(ctx context.Context) ([]Site, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sites != nil && p.cfg.CatalogTTL > 0 && time.Since(p.loadedAt) < p.cfg.CatalogTTL {
		return p.sites, nil
	}
	sites, err := p.cfg.Catalog.Sites(ctx)
	if err != nil {
		return nil, fmt.Errorf("load sites: %w", err)
	}
	p.sites, p.loadedAt = sites, time.Now()
	return sites, nil
}

// retrievalQuery is the message with the canonical words of the standing
// wishes and places added: a follow-up such as "and in August?" still
// retrieves what the conversation is about, and a Chinese question also
// finds English passages by the English names.
func retrievalQuery(message string, c Constraints) string {
	extra := make([]string, 0, len(c.Wishes)+len(c.Places))
	for _, w := range c.Wishes {
		extra = append(extra, wishName(LangEn, w))
	}
	for _, pl := range c.Places {
		extra = append(extra, placeName(LangEn, pl))
	}
	if len(extra) == 0 {
		return knowledge.ExpandQuery(message)
	}
	return knowledge.ExpandQuery(message + "\n" + strings.Join(extra, " "))
}

// siteScorePassages is how many of a site's best passages add to its score:
// enough to reward a site discussed in several chunks, few enough that a
// long document does not win by length.
const siteScorePassages = 3

// candidates turns the fused passages into one candidate per catalogue site.
// Sites no list retrieved stay candidates with score 0, so the filter can
// still offer them when the constraints rule out everything retrieved.
func candidates(sites []Site, fused []Passage) []Candidate {
	byID := make(map[uuid.UUID]int, len(sites))
	out := make([]Candidate, len(sites))
	for i, s := range sites {
		byID[s.ID] = i
		out[i] = Candidate{Site: s}
	}
	for _, p := range fused {
		i, ok := byID[p.SiteID]
		if !ok {
			continue // a chunk of a site removed since; never recommend what the catalogue lacks
		}
		if len(out[i].Passages) < siteScorePassages {
			out[i].Score += p.Score
		}
		out[i].Passages = append(out[i].Passages, p)
	}
	return out
}

// request gathers what the generator needs: the chosen sites with their best
// passages (in the diver's language first) and the recent turns.
func (p *Planner) request(turn Turn, cons Constraints, sel Selection, asked []string) Request {
	req := Request{Language: cons.Language, Message: turn.Message, Constraints: cons, Selection: sel, Intents: asked}
	perSite := p.cfg.PassagesPerSite
	if hasIntent(asked, IntentConditions) {
		perSite = max(perSite, 6) // the sentence on visibility or water temperature may be in any passage
	}
	for i, c := range sel.Presented() {
		alt := len(sel.Fits) == 0 || sel.WishesUnmet || i >= len(sel.Fits)
		req.Sites = append(req.Sites, ChosenSite{Site: c.Site, Reason: SiteReason(cons.Language, c, cons, alt),
			Wishes: c.Wishes, Alternative: alt})
		ps := slices.Clone(c.Passages)
		slices.SortStableFunc(ps, func(a, b Passage) int { // the diver's language first, keeping rank order
			return boolInt(textLanguage(a.Text) != cons.Language) - boolInt(textLanguage(b.Text) != cons.Language)
		})
		var kept int
		for _, ps := range ps {
			if strings.TrimSpace(ps.Text) == "" {
				continue
			}
			req.Passages = append(req.Passages, ps)
			if kept++; kept == perSite {
				break
			}
		}
	}
	h := turn.History
	if len(h) > p.cfg.HistoryTurns {
		h = h[len(h)-p.cfg.HistoryTurns:]
	}
	req.History = slices.Clone(h)
	return req
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
