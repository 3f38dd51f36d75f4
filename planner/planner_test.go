package planner

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dovvydive/backend/knowledge/embedding"
)

// recordingGenerator wraps a generator and keeps the requests it saw.
type recordingGenerator struct {
	Generator
	mu   sync.Mutex
	reqs []Request
	err  error
}

func (r *recordingGenerator) Generate(ctx context.Context, req Request, emit func(string) error) (Answer, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, req)
	r.mu.Unlock()
	if r.err != nil {
		return Answer{}, r.err
	}
	return r.Generator.Generate(ctx, req, emit)
}

type failingEmbedder struct{ embedding.Hash }

func (failingEmbedder) EmbedQuery(context.Context, string) ([]float32, error) {
	return nil, errors.New("gemini embed: embedding service unavailable: HTTP 503")
}

type testPlanner struct {
	*Planner
	ret *memRetriever
	cat *memCatalog
	gen *recordingGenerator
}

func newTestPlanner(t testing.TB, tune ...func(*Config)) testPlanner {
	t.Helper()
	c := loadCorpus(t)
	tp := testPlanner{ret: &memRetriever{c: c}, cat: &memCatalog{sites: c.sites}, gen: &recordingGenerator{Generator: Extractive{}}}
	cfg := Config{Embedder: embedding.Hash{}, Retriever: tp.ret, Catalog: tp.cat, Generator: tp.gen}
	for _, f := range tune {
		f(&cfg)
	}
	p, err := New(cfg)
	require.NoError(t, err)
	tp.Planner = p
	return tp
}

func replySlugs(r Reply) []string {
	out := make([]string, len(r.Sites))
	for i, s := range r.Sites {
		out[i] = s.Slug
	}
	return out
}

func TestPlan_RecommendsHammerheadsToAnAdvancedDiverInApril(t *testing.T) {
	tp := newTestPlanner(t)
	var deltas []string
	reply, err := tp.Plan(context.Background(), Turn{Message: "I'm AOW and want to see hammerheads in April"},
		func(d string) error { deltas = append(deltas, d); return nil })
	require.NoError(t, err)

	assert.Equal(t, "layang-layang-hammerhead-point", reply.Sites[0].Slug)
	assert.LessOrEqual(t, len(reply.Sites), 3)
	assert.Equal(t, []int{4}, reply.Constraints.Months)
	assert.Equal(t, "advanced_open_water", reply.Constraints.Certification)
	assert.Equal(t, []string{"hammerheads"}, reply.Constraints.Wishes)
	assert.Equal(t, ExtractiveModel, reply.Model)
	assert.Equal(t, reply.Content, strings.Join(deltas, ""))
	assert.Contains(t, reply.Content, "Hammerhead Point")
	assert.NotEmpty(t, reply.Sites[0].Reason)
	assert.NotEmpty(t, reply.Sites[0].NameZh)
	require.NotEmpty(t, reply.Citations)
	assert.Equal(t, reply.Sites[0].ID, reply.Citations[0].SiteID)
	assert.Equal(t, int64(1), tp.ret.vecCalls.Load())
	assert.Equal(t, int64(1), tp.ret.textCalls.Load())
}

func TestPlan_OpenWaterDiverGetsNoSiteAboveTheirCertificationOrOutOfSeason(t *testing.T) {
	tp := newTestPlanner(t)
	c := loadCorpus(t)
	for _, msg := range []string{
		"Open water diver, turtles in July, where should I go?",
		"我是OW潜水员，七月想看海龟，去哪里？",
		"OW here, I want to see barracuda at Barracuda Point in August",
	} {
		reply, err := tp.Plan(context.Background(), Turn{Message: msg}, nil)
		require.NoError(t, err, msg)
		require.NotEmpty(t, reply.Sites, msg)
		for _, ref := range reply.Sites {
			s := c.site(t, ref.Slug)
			assert.Equal(t, "open_water", s.MinCertification, "%s for %q", ref.Slug, msg)
			assert.True(t, inSeason(s, reply.Constraints.Months), "%s for %q", ref.Slug, msg)
		}
	}
}

func TestPlan_EastCoastInTheMonsoonOffersAlternativesWithTheReason(t *testing.T) {
	tp := newTestPlanner(t)
	reply, err := tp.Plan(context.Background(), Turn{Message: "Can I dive Tioman in December?"}, nil)
	require.NoError(t, err)
	require.NotEmpty(t, reply.Sites)
	assert.Contains(t, reply.Content, "north-east monsoon")
	var sabah bool
	for _, ref := range reply.Sites {
		assert.True(t, ref.Alternative)
		if strings.HasPrefix(ref.Slug, "sipadan-") || strings.HasPrefix(ref.Slug, "mabul-") || strings.HasPrefix(ref.Slug, "kapalai-") ||
			strings.HasPrefix(ref.Slug, "mataking-") || strings.HasPrefix(ref.Slug, "lankayan-") {
			sabah = true
		}
	}
	assert.True(t, sabah, "offers Sabah: %v", replySlugs(reply))

	zh, err := tp.Plan(context.Background(), Turn{Message: "十二月可以去刁曼岛潜水吗？"}, nil)
	require.NoError(t, err)
	assert.Contains(t, zh.Content, "东北季风")
	assert.Equal(t, "zh", zh.Constraints.Language)
}

func TestPlan_ChineseQuestionGetsAChineseAnswerAboutTheNamedPlace(t *testing.T) {
	tp := newTestPlanner(t)
	reply, err := tp.Plan(context.Background(), Turn{Message: "我是进阶潜水员，七月去诗巴丹，想看梭鱼风暴"}, nil)
	require.NoError(t, err)
	require.NotEmpty(t, reply.Sites)
	assert.Equal(t, "sipadan-barracuda-point", reply.Sites[0].Slug)
	for _, ref := range reply.Sites {
		assert.True(t, strings.HasPrefix(ref.Slug, "sipadan-"), ref.Slug)
	}
	assert.Contains(t, reply.Content, "诗巴丹")
	assert.Contains(t, reply.Content, "潜店")
}

func TestPlan_ConstraintsCarryOverAndAFollowUpRetrievesTheTopic(t *testing.T) {
	tp := newTestPlanner(t)
	first, err := tp.Plan(context.Background(), Turn{Message: "Open water diver, I'd love whale sharks"}, nil)
	require.NoError(t, err)
	history := []Message{{Role: RoleUser, Content: "Open water diver, I'd love whale sharks"}, {Role: RoleAssistant, Content: first.Content}}
	second, err := tp.Plan(context.Background(), Turn{Message: "What about in May?", History: history, PrevConstraints: first.Constraints}, nil)
	require.NoError(t, err)
	assert.Equal(t, "open_water", second.Constraints.Certification)
	assert.Equal(t, []string{"whale_sharks"}, second.Constraints.Wishes)
	assert.Equal(t, []int{5}, second.Constraints.Months)
	assert.Contains(t, tp.ret.lastQuery.Load().(string), "whale sharks", "the standing wish joins the search query")

	req := tp.gen.reqs[len(tp.gen.reqs)-1]
	assert.Equal(t, history, req.History)
	assert.Equal(t, "What about in May?", req.Message)
}

func TestPlan_HistoryIsCappedToTheRecentTurns(t *testing.T) {
	tp := newTestPlanner(t, func(c *Config) { c.HistoryTurns = 4 })
	var history []Message
	for i := range 9 {
		history = append(history, Message{Role: RoleUser, Content: strings.Repeat("x", i+1)})
	}
	_, err := tp.Plan(context.Background(), Turn{Message: "turtles", History: history}, nil)
	require.NoError(t, err)
	assert.Equal(t, history[5:], tp.gen.reqs[0].History)
}

func TestPlan_GivesTheGeneratorOnlyTheChosenSitesPassages(t *testing.T) {
	tp := newTestPlanner(t, func(c *Config) { c.PassagesPerSite = 2 })
	_, err := tp.Plan(context.Background(), Turn{Message: "macro and mandarinfish at Kapalai"}, nil)
	require.NoError(t, err)
	req := tp.gen.reqs[0]
	require.NotEmpty(t, req.Sites)
	chosen := map[string]int{}
	for _, s := range req.Sites {
		chosen[s.Site.Slug] = 0
	}
	for _, p := range req.Passages {
		_, ok := chosen[p.Slug]
		require.True(t, ok, "passage of an unchosen site %s", p.Slug)
		chosen[p.Slug]++
		assert.NotEmpty(t, p.Text)
	}
	for slug, n := range chosen {
		assert.LessOrEqual(t, n, 2, slug)
	}
}

func TestPlan_EmbedderFailureIsAnUpstreamError(t *testing.T) {
	tp := newTestPlanner(t, func(c *Config) { c.Embedder = failingEmbedder{} })
	_, err := tp.Plan(context.Background(), Turn{Message: "turtles"}, nil)
	var up *ErrUpstream
	require.ErrorAs(t, err, &up)
	assert.Equal(t, "embedding", up.Name)
	assert.Empty(t, tp.gen.reqs, "nothing generated")
}

func TestPlan_GeneratorUpstreamErrorPassesThrough(t *testing.T) {
	tp := newTestPlanner(t)
	tp.gen.err = &ErrUpstream{Name: "gemini", RetryAfter: 5 * time.Second, Err: errors.New("HTTP 429")}
	_, err := tp.Plan(context.Background(), Turn{Message: "turtles"}, nil)
	var up *ErrUpstream
	require.ErrorAs(t, err, &up)
	assert.Equal(t, "gemini", up.Name)
	assert.Equal(t, 5*time.Second, up.RetryAfter)
}

func TestPlan_RetrievalAndCatalogFailuresAreErrorsNotUpstream(t *testing.T) {
	boom := errors.New("connection refused")
	for name, tune := range map[string]func(tp testPlanner){
		"vector":  func(tp testPlanner) { tp.ret.vecErr = boom },
		"text":    func(tp testPlanner) { tp.ret.textErr = boom },
		"catalog": func(tp testPlanner) { tp.cat.err = boom },
	} {
		tp := newTestPlanner(t)
		tune(tp)
		_, err := tp.Plan(context.Background(), Turn{Message: "turtles"}, nil)
		assert.ErrorIs(t, err, boom, name)
		var up *ErrUpstream
		assert.False(t, errors.As(err, &up), name)
	}
}

func TestPlan_CancelledContextStops(t *testing.T) {
	tp := newTestPlanner(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := tp.Plan(ctx, Turn{Message: "turtles"}, func(string) error { return nil })
	assert.ErrorIs(t, err, context.Canceled)
}

func TestPlan_ReusesTheCatalogForItsTTL(t *testing.T) {
	tp := newTestPlanner(t)
	for range 3 {
		_, err := tp.Plan(context.Background(), Turn{Message: "turtles"}, nil)
		require.NoError(t, err)
	}
	assert.Equal(t, int64(1), tp.cat.calls.Load())

	every := newTestPlanner(t, func(c *Config) { c.CatalogTTL = -1 })
	for range 3 {
		_, err := every.Plan(context.Background(), Turn{Message: "turtles"}, nil)
		require.NoError(t, err)
	}
	assert.Equal(t, int64(3), every.cat.calls.Load())
}

func TestPlan_NeverRecommendsASiteMissingFromTheCatalog(t *testing.T) {
	tp := newTestPlanner(t)
	tp.cat.sites = slices.DeleteFunc(slices.Clone(tp.cat.sites), func(s Site) bool { return s.Slug == "layang-layang-hammerhead-point" })
	reply, err := tp.Plan(context.Background(), Turn{Message: "hammerheads at Layang-Layang Hammerhead Point"}, nil)
	require.NoError(t, err)
	assert.NotContains(t, replySlugs(reply), "layang-layang-hammerhead-point")
	for _, c := range reply.Citations {
		assert.NotEqual(t, "layang-layang-hammerhead-point", c.Slug)
	}
}

func TestPlan_IsSafeForConcurrentUse(t *testing.T) {
	tp := newTestPlanner(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			msg := []string{"turtles in July", "七月去诗巴丹", "wrecks in Labuan", "beginner, Redang in June"}[i%4]
			_, err := tp.Plan(context.Background(), Turn{Message: msg}, nil)
			assert.NoError(t, err)
		})
	}
	wg.Wait()
}

func TestNew_RequiresItsDependencies(t *testing.T) {
	_, err := New(Config{Embedder: embedding.Hash{}})
	assert.Error(t, err)
}

func TestPlan_WithGeminiStreamsAndCitesTheChosenSites(t *testing.T) {
	f := newFakeGemini(t, answer("Hammerhead Point ", "in April."))
	g := newGeminiGen(t, f.URL)
	tp := newTestPlanner(t, func(c *Config) { c.Generator = g })
	var deltas []string
	reply, err := tp.Plan(context.Background(), Turn{Message: "AOW, hammerheads in April",
		History: []Message{{Role: RoleUser, Content: "hello"}}}, func(d string) error { deltas = append(deltas, d); return nil })
	require.NoError(t, err)
	assert.Equal(t, []string{"Hammerhead Point ", "in April."}, deltas)
	assert.Equal(t, "Hammerhead Point in April.", reply.Content)
	assert.Equal(t, GeminiModel, reply.Model)
	require.NotEmpty(t, reply.Sites)
	assert.Equal(t, "layang-layang-hammerhead-point", reply.Sites[0].Slug)
	chosen := map[string]bool{}
	for _, s := range reply.Sites {
		chosen[s.Slug] = true
	}
	require.NotEmpty(t, reply.Citations)
	for _, c := range reply.Citations {
		assert.True(t, chosen[c.Slug], "cites only chosen sites: %s", c.Slug)
	}
	body := f.lastBody(t)
	sys, _ := json.Marshal(body["systemInstruction"])
	assert.Contains(t, string(sys), "layang-layang-hammerhead-point")
	assert.Len(t, body["contents"], 2, "the earlier turn and the message")
}

// BenchmarkPlan measures the planner's own CPU per message with the
// extractive generator (the in-memory retriever's brute-force search is
// included; the database replaces it in production).
func BenchmarkPlan(b *testing.B) {
	tp := newTestPlanner(b)
	msgs := []string{"AOW, hammerheads in April", "七月去诗巴丹看海龟", "Tioman in December?", "beginner, macro, any time"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := tp.Plan(context.Background(), Turn{Message: msgs[i%len(msgs)]}, nil); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkExtract measures constraint extraction alone.
func BenchmarkExtract(b *testing.B) {
	for b.Loop() {
		Extract("I'm AOW, no deeper than 25 m, want hammerheads and mantas at Layang-Layang in April or May", Constraints{})
		Extract("我是进阶潜水员，七八月去诗巴丹和马布岛，想看海龟和梭鱼，不超过30米", Constraints{})
	}
}
