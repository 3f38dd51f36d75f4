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

// Generate builds the answer and emits it line by line: the answer to the
// question asked (Lead), what cannot be had and why (Findings), the sites,
// their caveats, and what is still missing (Closing). Every sentence comes
// from render.go, so the Gemini generator is handed the same decisions.
func (Extractive) Generate(ctx context.Context, req Request, emit func(string) error) (Answer, error) {
	lang := req.Language
	if lang != LangZh {
		lang = LangEn
	}
	req.Language = lang
	var b strings.Builder
	var cites []Citation
	line := func(s string) { b.WriteString(s + "\n") }
	block := func(lines []string) {
		for _, l := range lines {
			line(l)
		}
		if len(lines) > 0 {
			line("")
		}
	}

	block(Lead(req))
	block(Findings(req))
	if len(req.Sites) == 0 {
		line(AskToChange(lang))
	} else {
		line(Intro(lang, req.Constraints, len(req.Sites), req.Sites[0].Alternative))
	}
	for i, cs := range req.Sites {
		line("")
		s := cs.Site
		line(fmt.Sprintf(tr(lang, "%d. **%s** (%s): %s.", "%d. **%s**（%s）：%s。"), i+1, siteName(lang, s),
			areaName(lang, s), cs.Reason))
		if life := lifeHighlights(lang, s, cs.Wishes); life != "" {
			line("   " + life)
		}
		for _, n := range WishNotes(lang, cs, req.Constraints.Months) {
			line("   " + n)
		}
		if q, p, ok := bestQuote(lang, req.Passages, s, cs.Wishes, req.Message); ok {
			line("   “" + q + "”")
			cites = append(cites, citationFor(s, p))
		}
		line("   " + operatorsLine(lang, s))
	}
	if len(req.Sites) > 0 {
		line("")
		block(Caveats(req))
		for _, c := range Closing(lang, req) {
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

// bestQuote picks one or two sentences from the site's passages that best
// match the diver's wishes and words, preferring passages in their language.
func bestQuote(lang string, passages []Passage, s Site, wishes []string, message string) (string, Passage, bool) {
	words := queryWords(message)
	return quoteBy(lang, passages, s, false, func(lower string) float64 {
		score := 0.0
		for _, w := range wishes {
			if mentions(lower, vocab().wishTerms, w) {
				score += 3
			}
		}
		for _, w := range words {
			if strings.Contains(lower, w) {
				score++
			}
		}
		return score
	})
}

// bestQuoteAbout picks the sentences of the site's passages that say most
// about words; none when no sentence mentions any of them.
func bestQuoteAbout(lang string, passages []Passage, s Site, words []string) (string, Passage, bool) {
	return quoteBy(lang, passages, s, true, func(lower string) float64 {
		score := 0.0
		for _, w := range words {
			if strings.Contains(lower, w) {
				score++
			}
		}
		return score
	})
}

// quoteBy quotes the best sentence of the site's passages in lang by score
// (and the next one when short enough); with mustMatch, a sentence scoring
// 0 is never quoted.
func quoteBy(lang string, passages []Passage, s Site, mustMatch bool, scoreOf func(lower string) float64) (string, Passage, bool) {
	var own []Passage
	for _, p := range passages {
		if p.SiteID == s.ID && strings.TrimSpace(p.Text) != "" {
			own = append(own, p)
		}
	}
	// Only passages in the diver's language are quoted: a Chinese answer
	// never quotes English.
	own = slices.DeleteFunc(own, func(p Passage) bool { return textLanguage(p.Text) != lang })
	if len(own) == 0 {
		return "", Passage{}, false
	}
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
			score := scoreOf(strings.ToLower(sent))
			if mustMatch && score == 0 {
				continue
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
	quote := unlabelled(chosen.sentences[chosen.best])
	limit := 280 // a Chinese character carries about two English letters' worth
	if lang == LangZh {
		limit = 140
	}
	if next := chosen.best + 1; next < len(chosen.sentences) {
		joined := quote + tr(lang, " ", "") + unlabelled(chosen.sentences[next])
		if utf8.RuneCountInString(joined) <= limit {
			quote = joined
		}
	}
	if utf8.RuneCountInString(quote) > 360 {
		quote = string([]rune(quote)[:357]) + "…"
	}
	return quote, own[chosen.passage], true
}

// sectionLabels start the site texts' paragraphs ("Requirements: …"); a
// quote reads better without them.
var sectionLabels = []string{"Requirements: ", "Safety: ", "Season: ", "Getting there: ", "要求：", "安全：", "季节：", "交通："}

func unlabelled(sentence string) string {
	for _, l := range sectionLabels {
		if rest, ok := strings.CutPrefix(sentence, l); ok && rest != "" {
			return capitalize(rest)
		}
	}
	return sentence
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
