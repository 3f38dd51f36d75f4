package planner

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/dovvydive/backend/knowledge/embedding"
)

// ExtractiveModel is the model name recorded for extractive answers.
const ExtractiveModel = "extractive-v1"

// Extractive answers without a language model: it writes a short reply in
// the diver's language from the chosen sites' facts (depth, certification,
// best months, the wished-for life, operators) and quotes a sentence or two
// from each site's best passage, with citations. It is deterministic and
// needs no network.
type Extractive struct{}

// Generate builds the answer and emits it line by line.
func (Extractive) Generate(ctx context.Context, req Request, emit func(string) error) (Answer, error) {
	lang := req.Language
	if lang != LangZh {
		lang = LangEn
	}
	var b strings.Builder
	var cites []Citation
	line := func(s string) { b.WriteString(s + "\n") }

	alternatives := len(req.Sites) > 0 && req.Sites[0].Alternative
	switch {
	case len(req.Sites) == 0:
		line(req.NoFit)
		line("")
		line(tr(lang, "Tell me if you can change the dates, the area or the depth limit, and I will look again.",
			"如果你可以调整日期、地区或深度限制，告诉我，我再帮你找。"))
	case alternatives:
		line(req.NoFit)
		line("")
		line(tr(lang, "The nearest alternatives:", "可以考虑的替代选择："))
	default:
		line(intro(lang, req.Constraints, len(req.Sites)))
	}

	for i, cs := range req.Sites {
		line("")
		s := cs.Site
		line(fmt.Sprintf(tr(lang, "%d. **%s** (%s): %s.", "%d. **%s**（%s）：%s。"), i+1, siteName(lang, s),
			areaName(lang, s), cs.Reason))
		if life := lifeHighlights(lang, s, cs.Wishes); life != "" {
			line("   " + life)
		}
		if q, p, ok := bestQuote(lang, req.Passages, s, cs.Wishes, req.Message); ok {
			line("   “" + q + "”")
			cites = append(cites, citationFor(s, p))
		}
		line("   " + operatorsLine(lang, s))
	}

	if len(req.Sites) > 0 {
		line("")
		for _, c := range closing(lang, req) {
			line(c)
		}
	}

	content := strings.TrimRight(b.String(), "\n")
	if emit != nil {
		for _, piece := range strings.SplitAfter(content, "\n") {
			if err := ctx.Err(); err != nil {
				return Answer{}, err
			}
			if err := emit(piece); err != nil {
				return Answer{}, err
			}
		}
	}
	return Answer{Content: content, Citations: cites, Model: ExtractiveModel}, nil
}

// intro restates what the diver asked for, so they can correct it.
func intro(lang string, c Constraints, n int) string {
	var parts []string
	if len(c.Months) > 0 {
		parts = append(parts, formatMonths(lang, c.Months))
	}
	if c.Certification != "" {
		parts = append(parts, certName(lang, c.Certification))
	}
	if c.Experience == ExperienceBeginner {
		parts = append(parts, tr(lang, "beginner", "新手"))
	}
	if len(c.Wishes) > 0 {
		names := make([]string, len(c.Wishes))
		for i, w := range c.Wishes {
			names[i] = wishName(lang, w)
		}
		parts = append(parts, joinList(lang, names))
	}
	if len(c.Places) > 0 {
		parts = append(parts, fmt.Sprintf(tr(lang, "in %s", "%s"), placeNames(lang, c.Places)))
	}
	if c.MaxDepthM > 0 {
		parts = append(parts, fmt.Sprintf(tr(lang, "no deeper than %d m", "不超过%d米"), c.MaxDepthM))
	}
	sites := fmt.Sprintf(tr(lang, "Here are %d sites", "推荐以下%d个潜点"), n)
	if n == 1 {
		sites = tr(lang, "Here is the site", "推荐以下潜点")
	}
	switch {
	case len(parts) == 0:
		return sites + tr(lang, " I would suggest:", "：")
	case lang == LangZh:
		return "根据你的条件（" + strings.Join(parts, "；") + "），" + sites + "："
	}
	return sites + " that best fit what you told me (" + strings.Join(parts, "; ") + "):"
}

// lifeHighlights names up to four animals of the site, the wished-for ones first.
func lifeHighlights(lang string, s Site, wishes []string) string {
	var first, rest []string
	for _, life := range s.MarineLife {
		wished := false
		for _, w := range wishes {
			for _, word := range wishFactWords[w] {
				if strings.Contains(strings.ToLower(life), word) {
					wished = true
				}
			}
		}
		if wished {
			first = append(first, lifeName(lang, life))
		} else {
			rest = append(rest, lifeName(lang, life))
		}
	}
	all := append(first, rest...)
	if len(all) == 0 {
		return ""
	}
	return fmt.Sprintf(tr(lang, "Look for %s.", "可以看到%s。"), joinList(lang, all[:min(4, len(all))]))
}

func operatorsLine(lang string, s Site) string {
	if len(s.Operators) == 0 {
		return tr(lang, "No operator is listed for it yet: ask the dive centres of the area.", "暂无登记的潜店，请咨询当地潜水中心。")
	}
	var names []string
	for _, o := range s.Operators {
		n := o.Name
		if lang == LangZh && o.NameZh != "" {
			n = o.NameZh
		}
		names = append(names, n)
	}
	return fmt.Sprintf(tr(lang, "Operators: %s.", "潜店：%s。"), strings.Join(names, tr(lang, ", ", "、")))
}

// seasons says when boats run to each chosen site and, where it differs,
// when it is at its best: from the site's facts, never from a rule of thumb
// about a whole state (Layang-Layang's resort closes half the year).
func seasons(lang string, sites []ChosenSite) string {
	var parts []string
	for _, cs := range sites {
		s := cs.Site
		if len(s.OpenMonths) == 0 {
			continue
		}
		part := fmt.Sprintf(tr(lang, "%s is dived %s", "%s%s可潜"), siteName(lang, s), formatMonths(lang, s.OpenMonths))
		if len(s.BestMonths) > 0 && !slices.Equal(sortedUnique(s.BestMonths), sortedUnique(s.OpenMonths)) {
			part += fmt.Sprintf(tr(lang, " (best %s)", "（最佳%s）"), formatMonths(lang, s.BestMonths))
		}
		parts = append(parts, part)
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, tr(lang, "; ", "；")) + tr(lang, ".", "。")
}

// closing asks for what is missing and reminds the diver to confirm.
func closing(lang string, req Request) []string {
	var out []string
	c := req.Constraints
	needsMore := slices.ContainsFunc(req.Sites, func(cs ChosenSite) bool {
		return cs.Site.MinCertification != "" && cs.Site.MinCertification != "open_water"
	})
	if c.Certification == "" && needsMore {
		out = append(out, tr(lang, "Some of these ask for more than Open Water: tell me your certification and I will check each one.",
			"其中有些潜点要求高于开放水域的证书：告诉我你的证书级别，我来逐一核对。"))
	}
	if len(c.Months) == 0 && len(req.Sites) > 0 {
		out = append(out, tr(lang, "When are you travelling? ", "你打算什么时候去？")+seasons(lang, req.Sites))
	}
	return append(out, tr(lang, "Conditions change: confirm with the operator before you book.", "海况多变，预订前请向潜店确认。"))
}

// bestQuote picks one or two sentences from the site's passages that best
// match the diver's wishes and words, preferring passages in their language.
func bestQuote(lang string, passages []Passage, s Site, wishes []string, message string) (string, Passage, bool) {
	var own []Passage
	for _, p := range passages {
		if p.SiteID == s.ID && strings.TrimSpace(p.Text) != "" {
			own = append(own, p)
		}
	}
	if inLang := slices.DeleteFunc(slices.Clone(own), func(p Passage) bool { return textLanguage(p.Text) != lang }); len(inLang) > 0 {
		own = inLang
	}
	if len(own) == 0 {
		return "", Passage{}, false
	}
	words := queryWords(message)
	type pick struct {
		passage   int
		sentences []string
		best      int
		score     float64
	}
	var chosen *pick
	for pi, p := range own {
		sents := sentences(p.Text)
		for si, sent := range sents {
			n := utf8.RuneCountInString(sent)
			if n < 12 {
				continue
			}
			score := 0.0
			lower := strings.ToLower(sent)
			for _, w := range wishes {
				if mentions(lower, wishTerms, w) {
					score += 3
				}
			}
			for _, w := range words {
				if strings.Contains(lower, w) {
					score++
				}
			}
			score -= 0.05*float64(si) + 0.2*float64(pi) // earlier sentences of better passages break ties
			if n > 320 {
				score -= 2 // a run-on sentence reads as a dump
			}
			if chosen == nil || score > chosen.score {
				chosen = &pick{passage: pi, sentences: sents, best: si, score: score}
			}
		}
	}
	if chosen == nil {
		return "", Passage{}, false
	}
	quote := chosen.sentences[chosen.best]
	limit := 280 // a Chinese character carries about two English letters' worth
	if lang == LangZh {
		limit = 140
	}
	if next := chosen.best + 1; next < len(chosen.sentences) {
		joined := quote + tr(lang, " ", "") + chosen.sentences[next]
		if utf8.RuneCountInString(joined) <= limit {
			quote = joined
		}
	}
	if utf8.RuneCountInString(quote) > 360 {
		quote = string([]rune(quote)[:357]) + "…"
	}
	return quote, own[chosen.passage], true
}

// textLanguage is zh for text with Han characters, en otherwise.
func textLanguage(s string) string {
	if detectLanguage(s) == LangZh {
		return LangZh
	}
	return LangEn
}

// queryWords are the message's content words worth finding in a sentence.
func queryWords(message string) []string {
	var out []string
	for _, w := range embedding.Words(message) {
		if utf8.RuneCountInString(w) >= 4 && !commonWords[w] {
			out = append(out, w)
		}
	}
	return out
}

var commonWords = map[string]bool{"what": true, "where": true, "which": true, "when": true, "would": true, "could": true,
	"should": true, "there": true, "about": true, "want": true, "like": true, "with": true, "have": true, "good": true,
	"best": true, "dive": true, "diving": true, "dives": true, "site": true, "sites": true, "recommend": true, "this": true,
	"that": true, "from": true, "your": true, "some": true, "will": true, "going": true, "trip": true}

// sentences splits a passage into sentences, dropping Markdown headings and
// HTML comments.
func sentences(text string) []string {
	var out []string
	for _, ln := range strings.Split(text, "\n") {
		ln = strings.TrimSpace(ln)
		if ln == "" || strings.HasPrefix(ln, "#") || strings.HasPrefix(ln, "<!--") {
			continue
		}
		var cur strings.Builder
		rs := []rune(ln)
		for i, r := range rs {
			cur.WriteRune(r)
			end := r == '。' || r == '！' || r == '？' ||
				((r == '.' || r == '!' || r == '?') && (i+1 == len(rs) || unicode.IsSpace(rs[i+1])))
			if end {
				if s := strings.TrimSpace(cur.String()); s != "" {
					out = append(out, s)
				}
				cur.Reset()
			}
		}
		if s := strings.TrimSpace(cur.String()); s != "" {
			out = append(out, s)
		}
	}
	return out
}
