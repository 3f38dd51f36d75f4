package handlers_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hybridQuestions are natural questions written from the site texts in
// data/sites (the facts each names are in those texts), half in Chinese,
// with the sites a dive guide would name first.
var hybridQuestions = []struct {
	query string
	first []string // the first result is one of these
}{
	{"where can I see schooling hammerhead sharks", []string{"layang-layang-hammerhead-point", "layang-layang-shark-cave"}},
	{"wreck diving on sunken ships", []string{"labuan-american-wreck", "labuan-australian-wreck", "labuan-blue-water-wreck",
		"labuan-cement-wreck", "perhentian-sugar-wreck", "perhentian-vietnamese-wreck"}},
	{"muck diving for macro critters", []string{"mabul-paradise-reef", "mabul-seaventures-rig", "kapalai-mandarin-valley"}},
	{"mandarinfish mating at dusk", []string{"kapalai-mandarin-valley", "pom-pom-mandarin-playground", "sibuan-hawksbill-highway"}},
	{"when do whale sharks pass Lankayan?", []string{"lankayan-jawfish-lair"}},
	{"a wall of hundreds of circling barracuda", []string{"sipadan-barracuda-point"}},
	{"turtle skeletons inside a limestone cavern", []string{"sipadan-turtle-cavern"}},
	{"dogtooth tuna on a remote oceanic atoll", []string{"layang-layang-dogtooth-lair", "layang-layang-hammerhead-point", "layang-layang-shark-cave"}},
	{"a dive resort built on an old oil rig", []string{"mabul-seaventures-rig"}},
	{"blacktip reef sharks in Pulau Payar Marine Park", []string{"payar-coral-garden"}},
	{"are there still dugongs at Mantanani?", []string{"mantanani-besar-reefs"}},
	{"哪里可以看到成群的锤头鲨？", []string{"layang-layang-hammerhead-point", "layang-layang-shark-cave"}},
	{"纳闽有哪些沉船可以潜？", []string{"labuan-american-wreck", "labuan-australian-wreck", "labuan-blue-water-wreck", "labuan-cement-wreck"}},
	{"黄昏时在哪里能看到七彩麒麟鱼交配？", []string{"kapalai-mandarin-valley", "pom-pom-mandarin-playground", "sibuan-hawksbill-highway"}},
	{"诗巴丹哪里能看到数百条梭鱼形成的鱼墙？", []string{"sipadan-barracuda-point"}},
	// The Drop-Off's text tells of the cavern whose entrance its dive passes.
	{"洞穴里有海龟骨骼的潜点", []string{"sipadan-turtle-cavern", "sipadan-drop-off"}},
	{"鲸鲨什么时候经过兰卡央岛？", []string{"lankayan-jawfish-lair"}},
	{"美人鱼岛现在还能见到儒艮吗？", []string{"mantanani-besar-reefs"}},
	{"由旧石油钻井平台改建的潜水度假村", []string{"mabul-seaventures-rig"}},
	{"热浪岛哪里有绿海龟？", []string{"redang-pulau-lima", "redang-tanjung-tokong"}},
	{"哪里能看到犬齿金枪鱼？", []string{"layang-layang-dogtooth-lair", "layang-layang-hammerhead-point", "layang-layang-shark-cave",
		"pom-pom-mandarin-playground"}},
}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

func TestSearch_HybridSearchRanksARightSiteFirstForNaturalQuestionsInBothLanguages(t *testing.T) {
	t.Parallel()
	srv := newServer(t, seededDB(t))
	zh := 0
	for _, q := range hybridQuestions {
		if hasHan(q.query) {
			zh++
		}
	}
	require.GreaterOrEqual(t, len(hybridQuestions), 20)
	require.GreaterOrEqual(t, zh, len(hybridQuestions)/2, "half the questions are Chinese")
	for _, q := range hybridQuestions {
		body, err := json.Marshal(map[string]any{"query": q.query, "k": 5})
		require.NoError(t, err)
		r := searchBody(t, srv, string(body))
		require.Equal(t, http.StatusOK, r.status, r.raw)
		data := r.body["data"].([]any)
		if !assert.NotEmpty(t, data, q.query) {
			continue
		}
		first := data[0].(map[string]any)
		assert.Contains(t, q.first, first["site"].(map[string]any)["slug"], "%s: first result", q.query)
		want := "en"
		if hasHan(q.query) {
			want = "zh"
		}
		assert.Equal(t, want, first["chunk"].(map[string]any)["language"], "%s: answered in the question's language", q.query)
	}
}
