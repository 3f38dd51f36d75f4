package planner

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// extractiveRequest chooses real corpus sites with their real passages.
func extractiveRequest(t *testing.T, lang, message string, cons Constraints, slugs ...string) Request {
	t.Helper()
	c := loadCorpus(t)
	cons.Language = lang
	req := Request{Language: lang, Message: message, Constraints: cons.normalized()}
	for _, slug := range slugs {
		s := c.site(t, slug)
		cand := Candidate{Site: s, Wishes: wishesOffered(Candidate{Site: s}, cons.Wishes, cons.Months)}
		req.Sites = append(req.Sites, ChosenSite{Site: s, Reason: SiteReason(lang, cand, req.Constraints, false), Wishes: cand.Wishes})
		req.Selection.Fits = append(req.Selection.Fits, cand)
		req.Passages = append(req.Passages, c.passages(slug)...)
	}
	return req
}

func generate(t *testing.T, req Request) (Answer, []string) {
	t.Helper()
	var deltas []string
	ans, err := Extractive{}.Generate(context.Background(), req, func(d string) error {
		deltas = append(deltas, d)
		return nil
	})
	require.NoError(t, err)
	return ans, deltas
}

var hanRe = regexp.MustCompile(`\p{Han}`)

func TestExtractive_EnglishAnswerNamesSitesWithFactsQuoteAndCitations(t *testing.T) {
	cons := Constraints{Months: []int{7}, Certification: "advanced_open_water", Wishes: []string{"turtles"}}
	req := extractiveRequest(t, "en", "Advanced diver, July, I want turtles", cons,
		"sipadan-barracuda-point", "sipadan-drop-off", "mabul-paradise-reef")
	ans, deltas := generate(t, req)

	assert.Equal(t, ExtractiveModel, ans.Model)
	for _, cs := range req.Sites {
		assert.Contains(t, ans.Content, cs.Site.NameEn, "names every chosen site")
		assert.Contains(t, ans.Content, fmt.Sprintf("%d–%d m", cs.Site.MinDepthM, cs.Site.MaxDepthM), "gives the depth range")
	}
	assert.Contains(t, ans.Content, "Advanced Open Water", "restates the certification")
	assert.Contains(t, ans.Content, "July")
	assert.Contains(t, ans.Content, "dived all year", "gives the season (Sipadan's sites are dived all year)")
	assert.Contains(t, ans.Content, "Scuba Junkie", "names operators that serve the site")
	assert.Contains(t, strings.ToLower(ans.Content), "turtle", "mentions the wished-for life")
	assert.False(t, hanRe.MatchString(ans.Content), "no Chinese in an English answer")

	// Quotes are sentences taken from the passages, short, and cited.
	quotes := regexp.MustCompile(`“([^”]+)”`).FindAllStringSubmatch(ans.Content, -1)
	require.Len(t, quotes, 3, "one quote per site")
	require.Len(t, ans.Citations, 3)
	for i, q := range quotes {
		assert.LessOrEqual(t, utf8.RuneCountInString(q[1]), 360, "a quote, not a dump")
		cite := ans.Citations[i]
		assert.Equal(t, req.Sites[i].Site.Slug, cite.Slug)
		assert.Equal(t, req.Sites[i].Site.ID, cite.SiteID)
		assert.NotEmpty(t, cite.NameZh)
		var source string
		for _, p := range req.Passages {
			if p.SiteID == cite.SiteID && p.ChunkIndex == cite.ChunkIndex {
				source = p.Text
			}
		}
		first := strings.SplitN(q[1], ". ", 2)[0]
		assert.Contains(t, source, first, "the quote comes from the cited passage")
	}
	var total int
	for _, p := range req.Passages {
		total += len(p.Text)
	}
	assert.Less(t, len(ans.Content), total/2, "much shorter than the passages it draws on")

	assert.Greater(t, len(deltas), 5, "emitted in pieces")
	assert.Equal(t, ans.Content, strings.Join(deltas, ""), "the pieces add up to the content")
}

func TestExtractive_ChineseAnswerUsesChineseNamesAndPassages(t *testing.T) {
	cons := Constraints{Months: []int{7}, Certification: "open_water", Wishes: []string{"turtles"}, Places: []string{"semporna"}}
	req := extractiveRequest(t, "zh", "我是OW，七月去仙本那想看海龟", cons, "mabul-paradise-reef", "kapalai-mandarin-valley")
	ans, _ := generate(t, req)

	for _, cs := range req.Sites {
		assert.Contains(t, ans.Content, cs.Site.NameZh, "Chinese site names")
	}
	assert.Contains(t, ans.Content, "开放水域")
	assert.Contains(t, ans.Content, "7月")
	assert.Contains(t, ans.Content, "海龟")
	assert.Contains(t, ans.Content, "潜店")
	assert.NotContains(t, ans.Content, "Operators:")
	quotes := regexp.MustCompile(`“([^”]+)”`).FindAllStringSubmatch(ans.Content, -1)
	require.NotEmpty(t, quotes)
	for _, q := range quotes {
		assert.True(t, hanRe.MatchString(q[1]), "quotes the Chinese passage: %q", q[1])
	}
	assert.NotEmpty(t, ans.Citations)
}

func TestExtractive_AlternativesExplainWhyNothingFits(t *testing.T) {
	cons := Constraints{Months: []int{12}, Places: []string{"tioman"}}
	req := extractiveRequest(t, "en", "Tioman in December?", cons, "mabul-paradise-reef")
	req.Sites[0].Alternative = true
	req.Selection.Alternatives, req.Selection.Fits = req.Selection.Fits, nil
	req.Selection.NoFit = NoFit{Kind: NoFitMonsoon, PlaceMonths: []int{3, 4, 5, 6, 7, 8, 9, 10}}
	ans, _ := generate(t, req)
	assert.True(t, strings.HasPrefix(ans.Content, "Tioman is out of season in December: the north-east monsoon"), "starts with the reason: %s", ans.Content)
	assert.Contains(t, ans.Content, "boats run there March–October")
	assert.Contains(t, ans.Content, "nearest alternatives")
	assert.Contains(t, ans.Content, "Paradise Reef")
}

func TestExtractive_NoSiteAtAllSaysSoAndAsksWhatCanChange(t *testing.T) {
	for _, lang := range []string{"en", "zh"} {
		req := Request{Language: lang, Message: "x", Constraints: Constraints{MaxDepthM: 5, Language: lang},
			Selection: Selection{NoFit: NoFit{Kind: NoFitNothingSafe}}}
		ans, _ := generate(t, req)
		assert.Contains(t, ans.Content, tr(lang, "No site I know is safe for someone staying above 5 m", "我掌握的潜点里没有适合不超过5米深的潜水员的"))
		assert.Contains(t, ans.Content, tr(lang, "change the dates", "调整日期"))
		assert.Empty(t, ans.Citations)
	}
}

func TestExtractive_AsksForWhatIsMissing(t *testing.T) {
	req := extractiveRequest(t, "en", "Where are the barracuda?", Constraints{}, "sipadan-barracuda-point")
	ans, _ := generate(t, req)
	assert.Contains(t, ans.Content, "Which certification do you hold? Barracuda Point, Sipadan needs Advanced Open Water", "an AOW site for a diver of unknown level")
	assert.Contains(t, ans.Content, "When are you travelling?")
}

func TestExtractive_IsDeterministic(t *testing.T) {
	req := extractiveRequest(t, "en", "hammerheads", Constraints{Wishes: []string{"hammerheads"}}, "layang-layang-hammerhead-point", "sipadan-south-point")
	a, _ := generate(t, req)
	b, _ := generate(t, req)
	assert.Equal(t, a, b)
}

func TestExtractive_StopsWhenTheClientGoesAway(t *testing.T) {
	req := extractiveRequest(t, "en", "turtles", Constraints{}, "mabul-paradise-reef")
	gone := errors.New("client gone")
	n := 0
	_, err := Extractive{}.Generate(context.Background(), req, func(string) error {
		n++
		if n == 2 {
			return gone
		}
		return nil
	})
	assert.ErrorIs(t, err, gone)
	assert.Equal(t, 2, n, "no piece after the failing one")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = Extractive{}.Generate(ctx, req, func(string) error { return nil })
	assert.ErrorIs(t, err, context.Canceled)
}

func TestSentences_SplitsBothLanguagesAndDropsHeadings(t *testing.T) {
	got := sentences("# Title\n\nFirst one. Second one at 5.5 m! Third?\n<!-- zh -->\n第一句。第二句！")
	assert.Equal(t, []string{"First one.", "Second one at 5.5 m!", "Third?", "第一句。", "第二句！"}, got)
}

func TestExtractive_IntroReadsWellForOneSite(t *testing.T) {
	for _, lang := range []string{"en", "zh"} {
		for _, cons := range []Constraints{{}, {Months: []int{7}}} {
			req := extractiveRequest(t, lang, "x", cons, "mabul-paradise-reef")
			ans, _ := generate(t, req)
			first := strings.SplitN(ans.Content, "\n", 2)[0]
			assert.NotContains(t, first, "%!", "no formatting debris: %q", first)
			assert.Contains(t, first, tr(lang, "Here is the site", "推荐以下潜点"))
		}
	}
}

func TestClosing_WithoutMonthsSaysWhenEachChosenSiteIsDivedFromItsFacts(t *testing.T) {
	sites := []ChosenSite{
		{Site: Site{NameEn: "Hammerhead Point", NameZh: "锤头鲨角", OpenMonths: []int{3, 4, 5, 6, 7, 8}, BestMonths: []int{3, 4, 5}}},
		{Site: Site{NameEn: "Paradise Reef", NameZh: "天堂礁", OpenMonths: []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}}},
	}
	en := strings.Join(Closing("en", Request{Sites: sites}), " ")
	assert.Contains(t, en, "Hammerhead Point is dived March–August (best March–May)")
	assert.Contains(t, en, "Paradise Reef is dived all year")
	assert.NotContains(t, en, "Sabah", "no rule of thumb about a whole state")
	zh := strings.Join(Closing("zh", Request{Sites: sites}), "")
	assert.Contains(t, zh, "3月至8月可潜（最佳3月至5月）")
	assert.False(t, regexp.MustCompile(`[A-Za-z]`).MatchString(strings.ReplaceAll(zh, "锤头鲨角", "")), "no English in a Chinese answer: %s", zh)
}
