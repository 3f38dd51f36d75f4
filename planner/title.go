package planner

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxTitleLength is the longest generated conversation title, in characters.
const MaxTitleLength = 60

// Title names a conversation after its first message, in the diver's
// language (c.Language, the language the planner answered in): from the
// trip the planner read in it (its wishes, places and months, at most two
// of each list, in that order) when it states any of them, else from the
// message's first words. The result is at most MaxTitleLength characters,
// one line, never empty for a non-empty message. Certification, depth and
// age alone do not make a title: "I'm Open Water" names no trip.
func Title(message string, c Constraints) string {
	lang := LangEn
	if c.Language == LangZh {
		lang = LangZh
	}
	var parts []string
	if len(c.Wishes) > 0 {
		parts = append(parts, titleWishes(lang, c.Wishes[:min(2, len(c.Wishes))]))
	}
	if len(c.Places) > 0 {
		parts = append(parts, titlePlaces(lang, c.Places[:min(2, len(c.Places))]))
	}
	if len(c.Months) > 0 {
		parts = append(parts, formatMonths(lang, c.Months))
	}
	if len(parts) > 0 {
		return clipTitle(strings.Join(parts, titleSeparator))
	}
	return clipTitle(oneLine(message))
}

// The words of a title, in English and Chinese; names come from the
// vocabulary (wishName, placeName), months from formatMonths.
const (
	titleSeparator = " · "
	titleEllipsis  = "…"
)

func titleWishes(lang string, wishes []string) string {
	names := make([]string, len(wishes))
	for i, w := range wishes {
		names[i] = capitalize(wishName(lang, w))
	}
	return strings.Join(names, tr(lang, " & ", "、"))
}

func titlePlaces(lang string, places []string) string {
	names := make([]string, len(places))
	for i, p := range places {
		names[i] = placeName(lang, p)
	}
	return strings.Join(names, tr(lang, " & ", "、"))
}

// oneLine is s with every run of whitespace and invisible characters
// (newlines, tabs, zero-width and control characters) made one space, and
// trimmed.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == utf8.RuneError || !unicode.IsGraphic(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// clipTitle cuts s to MaxTitleLength characters with an ellipsis, at the
// last space when there is one in the second half (English words stay
// whole; Chinese, written without spaces, is cut between characters).
func clipTitle(s string) string {
	if utf8.RuneCountInString(s) <= MaxTitleLength {
		return s
	}
	r := []rune(s)[:MaxTitleLength-utf8.RuneCountInString(titleEllipsis)]
	if i := lastSpace(r); i >= len(r)/2 {
		r = r[:i]
	}
	return strings.TrimRightFunc(string(r), func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) }) + titleEllipsis
}

func lastSpace(r []rune) int {
	for i := len(r) - 1; i >= 0; i-- {
		if r[i] == ' ' {
			return i
		}
	}
	return -1
}
