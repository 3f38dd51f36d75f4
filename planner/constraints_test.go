package planner

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dovvydive/backend/models"
)

// want lists only the fields a case checks; nil slices and zero values are
// "not checked" unless the field is named in check.
type want struct {
	months  []int
	season  string
	cert    string
	exp     string
	places  []string
	wishes  []string
	depth   int
	lang    string
	noMonth bool // months must be empty
}

func TestExtract_ReadsOneMessage(t *testing.T) {
	cases := []struct {
		name string
		text string
		want want
	}{
		// months and seasons, English
		{"month name", "Where should I dive in July?", want{months: []int{7}, lang: "en"}},
		{"next March", "We are going next March", want{months: []int{3}}},
		{"abbreviation", "Flying out in Aug.", want{months: []int{8}}},
		{"range with to", "From June to August, any ideas?", want{months: []int{6, 7, 8}}},
		{"range wrapping the year", "Nov-Feb trip", want{months: []int{1, 2, 11, 12}}},
		{"two months", "June or July", want{months: []int{6, 7}}},
		{"may as a verb is not a month", "I may go diving with friends", want{noMonth: true}},
		{"may as a month", "in May with my partner", want{months: []int{5}}},
		{"march as a verb is not a month", "we march on", want{noMonth: true}},
		{"Jan as a name is not a month", "Jan and I are both OW", want{noMonth: true, cert: "open_water"}},
		{"Jan after in is a month", "in Jan", want{months: []int{1}}},
		{"May at sentence start with another month", "May or June would work", want{months: []int{5, 6}}},
		{"christmas", "Thinking of a Christmas dive trip", want{months: []int{12}, season: "christmas"}},
		{"monsoon", "Can I dive during the monsoon?", want{months: []int{1, 2, 11, 12}, season: "northeast_monsoon"}},
		{"avoiding the monsoon", "I want to avoid the monsoon", want{months: []int{3, 4, 5, 6, 7, 8, 9, 10}, season: "dry"}},
		{"summer holidays", "Our summer holidays, where to go?", want{months: []int{6, 7, 8}, season: "summer"}},
		{"summer as a description is not a season", "I love summer-like water temperatures", want{noMonth: true}},
		{"explicit month wins over a season", "Christmas or January?", want{months: []int{1}}},
		// months and seasons, Chinese
		{"七月", "七月去哪里潜水好？", want{months: []int{7}, lang: "zh"}},
		{"7月", "我7月想去沙巴", want{months: []int{7}, places: []string{"sabah"}}},
		{"十二月", "十二月可以去热浪岛吗", want{months: []int{12}, places: []string{"redang"}}},
		{"十一月 is not 十 and 一", "十一月去哪", want{months: []int{11}}},
		{"range 7-8月", "7-8月带家人去", want{months: []int{7, 8}}},
		{"range 3月到5月", "3月到5月之间", want{months: []int{3, 4, 5}}},
		{"七八月", "七八月份去", want{months: []int{7, 8}}},
		{"three months is a duration", "我学潜水三个月了", want{noMonth: true}},
		{"春节", "春节假期去潜水", want{months: []int{1, 2}, season: "chinese_new_year"}},
		{"季风", "季风期间能潜吗", want{months: []int{1, 2, 11, 12}, season: "northeast_monsoon"}},
		{"暑假", "暑假带孩子去", want{months: []int{6, 7, 8}, season: "summer"}},
		// certification
		{"open water", "I'm an open water diver", want{cert: "open_water"}},
		{"OW", "PADI OW, 12 dives", want{cert: "open_water", exp: "beginner"}},
		{"advanced open water is not open water", "I have my Advanced Open Water", want{cert: "advanced_open_water"}},
		{"AOW", "AOW diver here", want{cert: "advanced_open_water"}},
		{"denied AOW", "I only have OW, not AOW yet", want{cert: "open_water"}},
		{"planned course is not held", "OW now, want to do my AOW course there", want{cert: "open_water"}},
		{"rescue", "Rescue diver with 80 dives", want{cert: "rescue_diver", exp: "intermediate"}},
		{"divemaster", "I'm a divemaster", want{cert: "divemaster"}},
		{"advanced sites are not a certification", "Which advanced sites are there?", want{cert: ""}},
		{"开放水域", "我有开放水域证书", want{cert: "open_water"}},
		{"OW潜水员", "我是OW潜水员", want{cert: "open_water"}},
		{"进阶", "我是进阶潜水员", want{cert: "advanced_open_water"}},
		{"想考 is not held", "我是OW，想考AOW", want{cert: "open_water"}},
		{"救援潜水员", "救援潜水员，潜了150次", want{cert: "rescue_diver", exp: "experienced"}},
		{"潜水长", "我是潜水长", want{cert: "divemaster"}},
		{"turtle rescue is not a certification", "Can I visit the turtle rescue on Mabul?", want{cert: ""}},
		{"asking the divemaster is not being one", "Should I ask the divemaster about currents?", want{cert: ""}},
		{"DM", "Which sites are good in April for a DM?", want{cert: "divemaster"}},
		{"海龟救援 is not a certification", "马布岛有海龟救援中心吗", want{cert: ""}},
		// experience
		{"beginner", "Complete beginner here", want{exp: "beginner"}},
		{"first dives", "These will be my first dives after the course", want{exp: "beginner"}},
		{"新手", "新手适合去哪里", want{exp: "beginner"}},
		{"初学", "初学者推荐", want{exp: "beginner"}},
		{"experienced", "We're experienced divers", want{exp: "experienced"}},
		// places
		{"island", "Is Sipadan worth it?", want{places: []string{"sipadan"}}},
		{"two places in order", "Tioman or Redang?", want{places: []string{"tioman", "redang"}}},
		{"hyphenated island", "Layang Layang hammerheads", want{places: []string{"layang-layang"}, wishes: []string{"hammerheads"}}},
		{"east coast", "Somewhere on the east coast", want{places: []string{"east-coast"}}},
		{"诗巴丹", "诗巴丹和马布岛怎么安排", want{places: []string{"sipadan", "mabul"}}},
		{"仙本那", "仙本那有什么好潜点", want{places: []string{"semporna"}}},
		{"停泊岛 and 刁曼岛", "停泊岛还是刁曼岛", want{places: []string{"perhentian", "tioman"}}},
		{"兰卡央 拉央拉央", "兰卡央和拉央拉央", want{places: []string{"lankayan", "layang-layang"}}},
		{"纳闽 沙巴", "纳闽在沙巴附近吗", want{places: []string{"labuan", "sabah"}}},
		{"东海岸", "东海岸现在能潜吗", want{places: []string{"east-coast"}}},
		// wishes
		{"turtles", "I'd love to see turtles", want{wishes: []string{"turtles"}}},
		{"whale shark is not also a shark", "whale sharks please", want{wishes: []string{"whale_sharks"}}},
		{"hammerhead sharks are hammerheads", "hammerhead sharks and mantas", want{wishes: []string{"hammerheads", "manta"}}},
		{"macro and nudibranchs", "macro photography, nudibranchs and frogfish", want{wishes: []string{"macro", "nudibranchs", "frogfish"}}},
		{"wrecks walls drift", "wrecks, walls and a drift or two", want{wishes: []string{"wrecks", "walls", "drift"}}},
		{"海龟", "想看海龟", want{wishes: []string{"turtles"}}},
		{"锤头鲨 is not also a shark", "想看锤头鲨", want{wishes: []string{"hammerheads"}}},
		{"鲸鲨", "哪里能看到鲸鲨", want{wishes: []string{"whale_sharks"}}},
		{"微距 裸鳃", "喜欢微距，特别是裸鳃", want{wishes: []string{"macro", "nudibranchs"}}},
		{"沉船 峭壁 放流", "沉船、峭壁和放流", want{wishes: []string{"wrecks", "walls", "drift"}}},
		// depth
		{"no deeper than", "no deeper than 18 m please", want{depth: 18}},
		{"max", "max 18m", want{depth: 18}},
		{"feet", "maximum depth 60 ft", want{depth: 18}},
		{"limit after number", "30 metres max", want{depth: 30}},
		{"不超过", "深度不超过18米", want{depth: 18}},
		{"以内", "20米以内就好", want{depth: 20}},
		{"can't go below", "Open-water certified, can't go below 18m", want{depth: 18, cert: "open_water"}},
		{"no more than", "no more than 20 metres please", want{depth: 20}},
		// holidays and other phrasings
		{"easter", "We'll be in Malaysia over Easter", want{months: []int{3, 4}, season: "easter"}},
		{"五一", "五一假期去仙本那", want{months: []int{5}, places: []string{"semporna"}}},
		{"国庆 is October", "国庆去哪里潜水好？", want{months: []int{10}, season: "national_day"}},
		{"十一假期 is October, 十一月 November", "十一假期还是十一月？", want{months: []int{11}}},
		{"大物", "AOW，想看大物", want{cert: "advanced_open_water", wishes: []string{"pelagics"}}},
		{"a negated wish is not a wish", "I want to see sharks but not hammerheads", want{wishes: []string{"sharks"}}},
		{"不要 negates", "不要沉船，想看海龟", want{wishes: []string{"turtles"}}},
	}
	require.GreaterOrEqual(t, len(cases), 40)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Extract(tc.text, Constraints{})
			w := tc.want
			if w.months != nil {
				assert.Equal(t, w.months, got.Months, "months")
			}
			if w.noMonth {
				assert.Empty(t, got.Months, "months")
			}
			if w.season != "" {
				assert.Equal(t, w.season, got.Season, "season")
			}
			assert.Equal(t, w.cert, got.Certification, "certification")
			if w.exp != "" {
				assert.Equal(t, w.exp, got.Experience, "experience")
			}
			if w.places != nil {
				assert.Equal(t, w.places, got.Places, "places")
			}
			if w.wishes != nil {
				assert.Equal(t, w.wishes, got.Wishes, "wishes")
			}
			if w.depth != 0 {
				assert.Equal(t, w.depth, got.MaxDepthM, "depth")
			}
			if w.lang != "" {
				assert.Equal(t, w.lang, got.Language, "language")
			}
		})
	}
}

func TestExtract_ConstraintsPersistAcrossTurns(t *testing.T) {
	c := Extract("I'm an open water diver, going to Sipadan in July to see turtles", Constraints{})
	assert.Equal(t, []int{7}, c.Months)
	assert.Equal(t, "open_water", c.Certification)
	assert.Equal(t, []string{"sipadan"}, c.Places)
	assert.Equal(t, []string{"turtles"}, c.Wishes)

	c = Extract("Actually in August", c)
	assert.Equal(t, []int{8}, c.Months, "an explicit change wins")
	assert.Equal(t, "open_water", c.Certification, "unstated fields carry over")
	assert.Equal(t, []string{"sipadan"}, c.Places)
	assert.Equal(t, []string{"turtles"}, c.Wishes)

	c = Extract("Now I have my AOW!", c)
	assert.Equal(t, "advanced_open_water", c.Certification)
	assert.Equal(t, []int{8}, c.Months)

	c = Extract("那刁曼岛呢？", c)
	assert.Equal(t, []string{"tioman"}, c.Places)
	assert.Equal(t, "zh", c.Language, "the language follows the latest message")
	assert.Equal(t, []string{"turtles"}, c.Wishes)

	c = Extract("any time is fine", c)
	assert.Empty(t, c.Months, "saying any time clears the months")
	assert.Equal(t, "any", c.Season)

	c = Extract("😀👍", c)
	assert.Equal(t, "en", c.Language, "a message with no letters keeps the language")
}

func TestExtract_DoesNotChangePrevious(t *testing.T) {
	prev := Extract("July, Sipadan, turtles", Constraints{})
	_ = Extract("August, Tioman, sharks", prev)
	assert.Equal(t, []int{7}, prev.Months)
	assert.Equal(t, []string{"sipadan"}, prev.Places)
	assert.Equal(t, []string{"turtles"}, prev.Wishes)
}

func TestConstraints_JSONHasStableShape(t *testing.T) {
	b, err := json.Marshal(Extract("hello", Constraints{}))
	require.NoError(t, err)
	assert.JSONEq(t, `{"months":[],"season":"","certification":"","experience":"","places":[],"avoidPlaces":[],"age":0,"wishes":[],"maxDepthM":0,"specialties":[],"language":"en"}`, string(b))
}

// FuzzExtract checks the invariants every extraction keeps, whatever the text.
func FuzzExtract(f *testing.F) {
	for _, s := range []string{"in July", "七月", "7-8月到", "Nov-Feb", "no deeper than 999 m", "AOW 不是 OW", "十一十二月", "May may March mar", "", "\x00\xff", "诗巴丹 sipadan 月月月"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		c := Extract(text, Constraints{})
		for i, m := range c.Months {
			if m < 1 || m > 12 || (i > 0 && c.Months[i-1] >= m) {
				t.Fatalf("months %v from %q", c.Months, text)
			}
		}
		if c.Certification != "" {
			if _, ok := models.CertificationsUpTo(c.Certification); !ok {
				t.Fatalf("certification %q from %q", c.Certification, text)
			}
		}
		if c.MaxDepthM < 0 || c.MaxDepthM > 100 {
			t.Fatalf("depth %d from %q", c.MaxDepthM, text)
		}
		if c.Language != LangEn && c.Language != LangZh {
			t.Fatalf("language %q from %q", c.Language, text)
		}
		for _, p := range c.Places {
			if !slices.Contains(Places(), p) {
				t.Fatalf("place %q from %q", p, text)
			}
		}
	})
}

// The patterns compile on first use, not at start-up: every one of them must
// still compile, whether or not a case above reaches it.
func TestPatterns_EveryLazyPatternCompiles(t *testing.T) {
	require.Greater(t, len(lazyPatterns), 40)
	for i, re := range lazyPatterns {
		assert.NotPanics(t, func() { re() }, "pattern %d", i)
	}
}
