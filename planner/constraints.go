// Package planner is the trip planner's logic, free of SQL and HTTP: it
// extracts a diver's constraints from a message (English and Simplified
// Chinese), fuses vector and full-text retrieval by reciprocal rank, filters
// sites by certification, season, depth and place, and answers through a
// Generator (an offline extractive one, or Gemini).
package planner

import (
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
)

// Constraints are what the diver has told the planner so far. They persist
// across a conversation: a message that states a field replaces it, the
// others carry over (see Extract).
type Constraints struct {
	Months        []int    `json:"months"`        // travel months, 1-12, ascending
	Season        string   `json:"season"`        // a named season the months came from (see Extract), "any", or ""
	Certification string   `json:"certification"` // one of models.CertificationLevels, or "" when unknown
	Experience    string   `json:"experience"`    // beginner, intermediate, experienced, or ""
	Places        []string `json:"places"`        // canonical place keys (see Places), in the order the diver named them
	AvoidPlaces   []string `json:"avoidPlaces"`   // place keys the diver ruled out ("not Sabah", "不去沙巴")
	Wishes        []string `json:"wishes"`        // canonical wishes (see Wishes), in the order the diver named them
	MaxDepthM     int      `json:"maxDepthM"`     // 0 means no stated limit
	Specialties   []string `json:"specialties"`   // specialty training the diver holds (models.Specialties), ascending
	Language      string   `json:"language"`      // en or zh: the language of the latest message
	Age           int      `json:"age"`           // the youngest diver's age when a child was mentioned; 0 when not stated
}

// Experience levels.
const (
	ExperienceBeginner     = "beginner"
	ExperienceIntermediate = "intermediate"
	ExperienceExperienced  = "experienced"
)

// Experience is an experience level as the API names it: the vocabulary of
// Constraints.Experience.
type Experience string

// Values lists the experience levels, least first.
func (Experience) Values() []string {
	return []string{ExperienceBeginner, ExperienceIntermediate, ExperienceExperienced}
}

// Season is a named time of travel as the API names it: the vocabulary of
// Constraints.Season, read from seasonRules so the two cannot drift.
type Season string

// Values lists the seasons Extract can name, in seasonRules' order.
func (Season) Values() []string {
	names := make([]string, len(seasonRules))
	for i, r := range seasonRules {
		names[i] = r.season
	}
	return names
}

// Languages the planner answers in.
const (
	LangEn = "en"
	LangZh = "zh"
)

// normalized returns c with nil slices made empty, so the JSON shape is stable.
func (c Constraints) normalized() Constraints {
	if c.Months == nil {
		c.Months = []int{}
	}
	if c.Places == nil {
		c.Places = []string{}
	}
	if c.AvoidPlaces == nil {
		c.AvoidPlaces = []string{}
	}
	if c.Wishes == nil {
		c.Wishes = []string{}
	}
	if c.Specialties == nil {
		c.Specialties = []string{}
	}
	if c.Language == "" {
		c.Language = LangEn
	}
	return c
}

// Extract reads the constraints a message states and merges them over prev:
// each field the message states replaces the previous value ("actually in
// August" replaces July), unstated fields carry over. Relative months ("next
// month") are read on today's date in Malaysia. It is deterministic for a
// given date and understands English and Simplified Chinese.
func Extract(text string, prev Constraints) Constraints {
	return ExtractOn(text, prev, time.Now())
}

// Malaysia keeps UTC+8 all year (no daylight saving), so a fixed zone is
// exact and needs no time zone database in the image.
var malaysia = time.FixedZone("MYT", 8*60*60)

// ExtractOn is Extract with "today" given, for relative months.
func ExtractOn(text string, prev Constraints, now time.Time) Constraints {
	c := prev
	c.Months = slices.Clone(prev.Months)
	c.Places = slices.Clone(prev.Places)
	c.AvoidPlaces = slices.Clone(prev.AvoidPlaces)
	c.Wishes = slices.Clone(prev.Wishes)
	c.Specialties = slices.Clone(prev.Specialties)

	if lang := detectLanguage(text); lang != "" {
		c.Language = lang
	}
	if months, season, ok := extractMonths(text); ok {
		c.Months, c.Season = months, season
	} else if m, ok := relativeMonth(text, now); ok {
		c.Months, c.Season = []int{m}, ""
	}
	if cert := extractCertification(text); cert != "" {
		c.Certification = cert
	}
	if exp := extractExperience(text); exp != "" {
		c.Experience = exp
	}
	places, avoided := matchTermsNegated(text, vocab().placeTerms)
	if len(places) > 0 {
		c.Places = places
		if len(avoided) == 0 {
			// A later message naming places ("what about Sipadan?" after
			// "not Sabah") has changed the diver's mind: the earlier
			// exclusions go.
			c.AvoidPlaces = nil
		}
	}
	if len(avoided) > 0 {
		for _, a := range avoided {
			if !slices.Contains(c.AvoidPlaces, a) {
				c.AvoidPlaces = append(c.AvoidPlaces, a)
			}
		}
		c.Places = slices.DeleteFunc(c.Places, func(p string) bool { return slices.Contains(avoided, p) })
	}
	if wishes := matchTerms(text, vocab().wishTerms); len(wishes) > 0 {
		c.Wishes = wishes
	}
	if depth, ok := extractDepth(text); ok {
		c.MaxDepthM = depth
	}
	if age, ok := extractAge(text); ok {
		c.Age = age
	}
	held, denied := extractSpecialties(text) // training, once claimed, holds until denied
	for _, sp := range held {
		if !slices.Contains(c.Specialties, sp) {
			c.Specialties = append(c.Specialties, sp)
		}
	}
	c.Specialties = slices.DeleteFunc(c.Specialties, func(sp string) bool { return slices.Contains(denied, sp) })
	slices.Sort(c.Specialties)
	return c.normalized()
}

var (
	nextMonthRe = lazyRegexp(`(?i)\bnext month\b|下个月|下个月份|下月`)
	thisMonthRe = lazyRegexp(`(?i)\bthis month\b|\blater this month\b|这个月|本月`)
)

// relativeMonth reads "next month" and "this month" on now's date in Malaysia.
func relativeMonth(text string, now time.Time) (int, bool) {
	m := int(now.In(malaysia).Month())
	switch {
	case nextMonthRe().MatchString(text):
		return m%12 + 1, true
	case thisMonthRe().MatchString(text):
		return m, true
	}
	return 0, false
}

// ageRe reads a child's age: "my 12-year-old", "kids aged 10", "孩子12岁",
// "12岁的儿子".
var ageRe = lazyRegexp(`(?i)\b(\d{1,2})[- ]?(?:years?[- ]old|yo|yrs? old)\b|\baged?\s+(\d{1,2})\b|(\d{1,2})\s*(?:岁|周岁)`)

// extractAge returns the youngest age the message states.
func extractAge(text string) (int, bool) {
	youngest := 0
	for _, m := range ageRe().FindAllStringSubmatch(text, -1) {
		n, _ := strconv.Atoi(m[1] + m[2] + m[3])
		if n >= 3 && n < 80 && (youngest == 0 || n < youngest) {
			youngest = n
		}
	}
	return youngest, youngest > 0
}

// specialtyRules read specialty training a diver says they hold.
var specialtyRules = []struct {
	specialty string
	re        func() *regexp.Regexp
}{
	{"cavern", lazyRegexp(`(?i)\b(?:finished|completed|done|did|passed)\s+(?:my\s+|a\s+|an\s+|the\s+)?(?:padi\s+|ssi\s+)?(?:cavern|cave)(?:\s+diver)?\s+(?:course|training|specialty|speciality)\b|\b(?:i'?m|i am|i have|i've|i got|i hold|with|and)\s+(?:got\s+|a\s+|an\s+|my\s+|the\s+)?(?:padi\s+|ssi\s+)?(?:cavern|cave)[- ](?:trained|certified|qualified|training|certification|specialty|speciality)\b|(?:我有|我持有|我考了|我拿了|我考过)[^，。？！?]{0,10}洞穴(?:潜水)?(?:证书|证|训练|专长|资格)`)},
	{"deep", lazyRegexp(`(?i)\b(?:i'?m|i am|i have|i've|i got|i hold|with|and)\s+(?:got\s+|a\s+|an\s+|my\s+|the\s+)?(?:padi\s+|ssi\s+)?deep(?:[- ]diver)?[- ](?:specialty|speciality|certified|certification|trained|training)\b|(?:我有|我持有|我考了|我拿了|我考过)[^，。？！?]{0,10}深潜(?:证书|专长|训练|资格)`)},
	{"wreck_penetration", lazyRegexp(`(?i)\b(?:i'?m|i am|i have|i've|i got|i hold|with|and)\s+(?:got\s+|a\s+|an\s+|my\s+|the\s+)?(?:padi\s+|ssi\s+)?wreck[- ](?:penetration|specialty|speciality|certified|trained|training)\b|(?:我有|我持有|我考了|我拿了|我考过)[^，。？！?]{0,10}沉船(?:专长|穿透|证书|训练)`)},
}

// specialtyDenialRe marks a claim the diver denies: "I don't have cavern
// training", "我没有洞穴证书", "not cave certified".
var specialtyDenialRe = lazyRegexp(`(?i)(?:\bnot|\bno|\bwithout|n't|\bnever|没有|没|未|还没|不是)\s*(?:got\s+|have\s+|any\s+|a\s+|an\s+|my\s+)?$`)

// specialtyQuestionRe is a question about training rather than a claim to it.
var specialtyQuestionRe = lazyRegexp(`[?？]|吗|需要|要不要|是否|\b(?:do|does|should|must|is|are) (?:i|you|we|one)\b`)

// extractSpecialties returns the specialties text says the diver holds, and
// those it says the diver does not hold. Only a first-person claim in a
// sentence that is not a question counts: "do I need cavern training?"
// holds nothing, "I'm AOW with cavern training. Can I dive it?" holds cavern.
func extractSpecialties(text string) (held, denied []string) {
	for _, sentence := range claimSentenceRe().FindAllString(text, -1) {
		lower := strings.ToLower(sentence)
		for _, r := range specialtyRules {
			word := map[string]string{"cavern": "cav", "deep": "deep", "wreck_penetration": "wreck"}[r.specialty]
			zh := map[string]string{"cavern": "洞穴", "deep": "深潜", "wreck_penetration": "沉船"}[r.specialty]
			if i := max(strings.Index(lower, word), strings.Index(sentence, zh)); i >= 0 && specialtyDenialRe().MatchString(firstOf(lower[:i], 30)) {
				denied = append(denied, r.specialty)
				continue
			}
			if !specialtyQuestionRe().MatchString(sentence) && r.re().MatchString(sentence) && !slices.Contains(held, r.specialty) {
				held = append(held, r.specialty)
			}
		}
	}
	return held, denied
}

// claimSentenceRe splits text into sentences, each with its final mark.
var claimSentenceRe = lazyRegexp(`[^.!?。！？]+[.!?。！？]*`)

// firstOf returns the last n bytes of s (s itself when shorter), as the
// window a negation is looked for in.
func firstOf(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// detectLanguage answers zh when the text has Han characters, en when it has
// Latin letters, and "" when it has neither (then the previous one stands).
func detectLanguage(text string) string {
	latin := false
	for _, r := range text {
		if unicode.Is(unicode.Han, r) {
			return LangZh
		}
		if r < unicode.MaxASCII && unicode.IsLetter(r) {
			latin = true
		}
	}
	if latin {
		return LangEn
	}
	return ""
}

// ---- months and seasons ----

var monthNames = map[string]int{
	"january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4,
	"may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9,
	"sep": 9, "sept": 9, "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}

var (
	enMonthRe = lazyRegexp(`(?i)\b(january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\b\.?`)
	// A range joins two month names: "June to August", "Nov-Feb".
	enRangeRe = lazyRegexp(`(?i)^\s*(?:-|–|—|to|until|till|through|thru)\s*$`)
	// Words that make "may" and "march" months rather than verbs.
	monthContext = map[string]bool{"in": true, "during": true, "next": true, "this": true, "early": true, "late": true,
		"mid": true, "end": true, "from": true, "to": true, "until": true, "till": true, "through": true,
		"or": true, "and": true, "of": true, "around": true, "by": true, "before": true, "after": true,
		"between": true, "since": true, "coming": true, "last": true}
	zhNum          = `[0-9]{1,2}|十[一二]|十|[一二三四五六七八九]`
	zhMonthRangeRe = lazyRegexp(`(` + zhNum + `)\s*月?\s*(?:-|–|—|~|～|到|至)\s*(` + zhNum + `)\s*月`)
	zhMonthRe      = lazyRegexp(`(` + zhNum + `)\s*月`)
	zhMonthListRe  = lazyRegexp(`(` + zhNum + `)\s*[、,，和或]\s*(` + zhNum + `)\s*月`)
	wordBeforeRe   = lazyRegexp(`(?i)([a-z]+)\W*$`)
	numberAfterRe  = lazyRegexp(`^\s*(?:\d|'\d)`)
	monthAfterRe   = lazyRegexp(`(?i)^\s*(?:,|or|and|to|-|–|until|through)\s*(?:january|february|april|june|july|august|september|october|november|december|jan|feb|apr|jun|jul|aug|sept|sep|oct|nov|dec)\b`)
	// "七八月": two adjacent numerals, July and August.
	zhMonthPairRe   = lazyRegexp(`([一二三四五六七八九])([二三四五六七八九十])月`)
	sentenceStartRe = lazyRegexp(`(?:^|[.!?。！？]\s*)$`)
	// "between March and May" is a range.
	betweenAndRe    = lazyRegexp(`(?i)^\s*and\s*$`)
	betweenBeforeRe = lazyRegexp(`(?i)\bbetween\s+(?:early\s+|mid[- ]?\s*|late\s+)?$`)
	// "May I…?" asks leave; it names no month.
	mayVerbAfterRe = lazyRegexp(`(?i)^\s+(?:i|we|you|they|he|she)\b`)
)

// seasonRules map season words to months. Order matters: the first rule that
// matches names the season. "Summer" and "winter" are northern-hemisphere
// holidays (Malaysia has neither), so only phrases that mean a time of travel
// count, not "summer-like water".
var seasonRules = []struct {
	season string
	re     func() *regexp.Regexp
	months []int
}{
	{"any", lazyRegexp(`(?i)\b(?:any ?time|any month|all year|year[- ]round|whenever)\b|全年|随时|什么时候都|哪个月都`), nil},
	{"dry", lazyRegexp(`(?i)\b(?:avoid(?:ing)?|outside(?: of)?|not (?:in|during)|after|miss(?:ing)?)\s+(?:the\s+)?(?:monsoon|rainy season)|\bdry season\b|避开季风|避开雨季|避免季风|季风(?:之后|以后|过后)|非季风|旱季`), []int{3, 4, 5, 6, 7, 8, 9, 10}},
	{"northeast_monsoon", lazyRegexp(`(?i)\bmonsoon|\brainy season\b|季风|雨季`), monsoonMonths},
	{"christmas", lazyRegexp(`(?i)\b(?:christmas|xmas)\b|圣诞`), []int{12}},
	{"easter", lazyRegexp(`(?i)\beaster\b|复活节`), []int{3, 4}},
	{"may_day", lazyRegexp(`五一|劳动节`), []int{5}},
	{"national_day", lazyRegexp(`国庆|十一(?:假期|长假|黄金周|期间)`), []int{10}},
	{"chinese_new_year", lazyRegexp(`(?i)\b(?:chinese new year|lunar new year|cny)\b|春节|过年|农历新年`), []int{1, 2}},
	{"new_year", lazyRegexp(`(?i)\bnew year'?s?\b|元旦|跨年`), []int{1, 12}},
	{"summer", lazyRegexp(`(?i)\b(?:(?:in|this|next|during|over|the|our|my)\s+(?:the\s+)?summer|summer\s+(?:holiday|holidays|vacation|break|trip))\b|暑假|夏天|夏季`), []int{6, 7, 8}},
	{"winter", lazyRegexp(`(?i)\b(?:(?:in|this|next|during|over|the|our|my)\s+(?:the\s+)?winter|winter\s+(?:holiday|holidays|vacation|break|trip))\b|寒假|冬天|冬季`), []int{12, 1, 2}},
}

// extractMonths returns the months the text names, and a season name when
// they came from one. ok is false when the text says nothing about timing.
// Explicit months win over season words.
func extractMonths(text string) (months []int, season string, ok bool) {
	set := map[int]bool{}
	add := func(m int) {
		if m >= 1 && m <= 12 {
			set[m] = true
		}
	}
	addRange := func(a, b int) {
		if a < 1 || a > 12 || b < 1 || b > 12 {
			return
		}
		for m := a; ; m = m%12 + 1 {
			set[m] = true
			if m == b {
				break
			}
		}
	}

	// English month names, with ranges between consecutive names.
	locs := enMonthRe().FindAllStringSubmatchIndex(text, -1)
	var prevMonth, prevStart, prevEnd int
	for _, loc := range locs {
		word := text[loc[2]:loc[3]]
		m := monthNames[strings.ToLower(word)]
		if !isMonthWord(text, word, loc[0], loc[1]) {
			prevMonth = 0
			continue
		}
		if prevMonth != 0 && (enRangeRe().MatchString(text[prevEnd:loc[0]]) ||
			(betweenAndRe().MatchString(text[prevEnd:loc[0]]) && betweenBeforeRe().MatchString(text[:prevStart]))) {
			addRange(prevMonth, m)
		} else {
			add(m)
		}
		prevMonth, prevStart, prevEnd = m, loc[0], loc[1]
	}

	// Chinese months: ranges first, then lists, then single months.
	for _, sm := range zhMonthRangeRe().FindAllStringSubmatch(text, -1) {
		addRange(zhNumber(sm[1]), zhNumber(sm[2]))
	}
	for _, sm := range zhMonthListRe().FindAllStringSubmatch(text, -1) {
		add(zhNumber(sm[1]))
		add(zhNumber(sm[2]))
	}
	for _, sm := range zhMonthPairRe().FindAllStringSubmatch(text, -1) {
		if a, b := zhNumber(sm[1]), zhNumber(sm[2]); b == a+1 {
			add(a)
		}
	}
	for _, sm := range zhMonthRe().FindAllStringSubmatch(text, -1) {
		add(zhNumber(sm[1]))
	}

	if len(set) > 0 {
		for m := range set {
			months = append(months, m)
		}
		sort.Ints(months)
		return months, "", true
	}
	for _, rule := range seasonRules {
		if rule.re().MatchString(text) {
			return sortedCopy(rule.months), rule.season, true
		}
	}
	return nil, "", false
}

// isMonthWord tells a month from the verbs "may" and "march" and the name
// "Jan": those count only next to a word that introduces a time, a number or
// another month, or (may, march) with a capital letter mid-sentence.
func isMonthWord(text, word string, start, end int) bool {
	lw := strings.ToLower(word)
	if lw != "may" && lw != "march" && lw != "mar" && lw != "jan" {
		return true
	}
	before := text[:start]
	if lw == "may" && mayVerbAfterRe().MatchString(text[end:]) {
		return false
	}
	if m := wordBeforeRe().FindStringSubmatch(before); m != nil && monthContext[strings.ToLower(m[1])] {
		return true
	}
	if numberAfterRe().MatchString(text[end:]) || monthAfterRe().MatchString(text[end:]) {
		return true
	}
	if strings.HasSuffix(strings.TrimSpace(before), "-") || strings.HasSuffix(strings.TrimSpace(before), "–") {
		return true
	}
	return lw != "jan" && word[0] >= 'A' && word[0] <= 'Z' && !sentenceStartRe().MatchString(before)
}

var zhDigits = map[rune]int{'一': 1, '二': 2, '三': 3, '四': 4, '五': 5, '六': 6, '七': 7, '八': 8, '九': 9, '十': 10}

// zhNumber reads 1-12 written in digits or Chinese numerals; 0 otherwise.
func zhNumber(s string) int {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	r := []rune(s)
	switch {
	case len(r) == 1:
		return zhDigits[r[0]]
	case len(r) == 2 && r[0] == '十':
		return 10 + zhDigits[r[1]]
	}
	return 0
}

// ---- certification and experience ----

var certRules = []struct {
	level string
	re    func() *regexp.Regexp
}{
	// Highest first: a phrase of a higher level is removed before lower
	// levels are looked for, so "advanced open water" is not also "open water".
	// A higher level read by mistake could send a diver somewhere unsafe, so
	// the two highest levels need words that say the diver holds them: "turtle
	// rescue" and "ask the divemaster" are not certifications.
	{"divemaster", lazyRegexp(`(?i)(?:\bi'?m|\bi am|\bas|\bam|\bhave|\bgot|\bhold|\bwith)\s+(?:a\s+|an\s+|my\s+)?(?:padi\s+|ssi\s+|naui\s+)?dive ?master\b|\bdive ?master\s+(?:here|cert\w*|level|rating)\b|(?-i:\bDM\b)|潜水长`)},
	{"rescue_diver", lazyRegexp(`(?i)\brescue diver\b|\brescue[- ]certified\b|(?:\bi'?m|\bi am|\bhave|\bgot|\bhold)\s+(?:a\s+|my\s+)?rescue\b|救援潜水员|救援证|救援级`)},
	{"advanced_open_water", lazyRegexp(`(?i)\badvanced open water\b|\bAOW\b|\badv(?:anced)?\.?[ -]?(?:diver|cert\w*|licen[cs]e|ticket|card|level|course)\b|(?:\bi'?m|\bi am|\bhave|\bgot|\bwith|\bhold)\s+(?:my\s+|an?\s+|the\s+)?advanced\b|\b(?:padi|ssi|naui)\s+advanced\b|进阶开放水域|进阶潜水员|进阶`)},
	{"open_water", lazyRegexp(`(?i)\bopen[- ]water\b|(?-i:\bOW\b)|\bow (?:cert\w*|diver|licen[cs]e|card)\b|开放水域|初级潜水员|OW潜水员`)},
}

// intentBefore marks a certification the diver does not hold yet or denies:
// "want to do my AOW", "not AOW", "还没有进阶", "想考AOW".
var (
	intentBeforeRe = lazyRegexp(`(?i)(?:\bshould i (?:get|do|take)(?: my| an?| the)?|\bneeds?|\brequires?|\brequired|\bneeded|\bminimum(?: is| of)?|\bat least|需要|要求|至少|\bnot(?: yet)?|\bno|n't(?: have| got)?(?: an?| my)?|\bwithout|\bwant to (?:do|get|take)(?: my| an?| the)?|\bplan(?:ning)? to (?:do|get|take)(?: my| an?| the)?|\bhope to (?:do|get)(?: my| an?)?|\bget my|\bdo my|\bwork(?:ing)? (?:on|towards?)(?: my| an?)?|\btake (?:my|an?|the)|\bdoing (?:my|an?|the)|没有|还没|没|不是|想考|要考|准备考|打算考|考|想学)\s*$`)
	intentAfterRe  = lazyRegexp(`(?i)^\s*(?:course|class|training|cert(?:ification)? course|课程|课|培训)`)
)

// doneBeforeRe marks a course the diver has finished: "I've now done my
// Advanced Open Water course", "刚考完进阶课程".
var doneBeforeRe = lazyRegexp(`(?i)(?:\b(?:done|did|finished|completed|passed|got through)\s+(?:my\s+|the\s+|an?\s+)?|考完|完成了?|学完|上完)\s*$`)

// othersBeforeRe marks a level someone else holds: "my husband is AOW",
// "我老公是进阶".
var othersBeforeRe = lazyRegexp(`(?i)(?:\b(?:husband|wife|partner|friend|buddy|boyfriend|girlfriend|son|daughter|brother|sister|dad|mum|mom|father|mother|he|she|they|instructor|guide)(?:'s| is| has| holds| got| was)\s+(?:got\s+|an?\s+|his\s+|her\s+|their\s+)?|(?:老公|老婆|丈夫|妻子|朋友|男朋友|女朋友|儿子|女儿|他|她|他们|教练)(?:是|有|考了|持有)\s*)$`)

// levelQuestionAfterRe marks a level asked about, not held: "is AOW
// enough?", "进阶够吗".
var levelQuestionAfterRe = lazyRegexp(`(?i)^\s*(?:(?:is|be)\s+)?(?:enough|sufficient|good enough|required|needed|necessary)\b|^\s*(?:够吗|够不够|足够吗|就够了吗|可以吗)`)

var advancedBeforeRe = lazyRegexp(`(?i)(?:\badvanced|\badv\.?|进阶)\s*$`)

// extractCertification returns the level the diver says they hold, or ""
// when none is stated. When several are (a group: "I'm OW and my wife is
// AOW" with the third person missed, "we're OW and AOW"), the lowest is
// taken: a level read too high could send a diver somewhere unsafe, one read
// too low only narrows the choice.
func extractCertification(text string) string {
	rest := text
	lowest := ""
	for _, rule := range certRules {
		for _, loc := range rule.re().FindAllStringIndex(rest, -1) {
			before := rest[max(0, loc[0]-40):loc[0]]
			after := rest[loc[1]:]
			if rule.level == "open_water" && advancedBeforeRe().MatchString(text[max(0, loc[0]-20):loc[0]]) {
				continue // the rest of "Advanced Open Water" after "I'm Advanced" was masked
			}
			if intentBeforeRe().MatchString(before) || othersBeforeRe().MatchString(before) || levelQuestionAfterRe().MatchString(after) ||
				(intentAfterRe().MatchString(after) && !doneBeforeRe().MatchString(before)) {
				continue
			}
			lowest = rule.level // rules run highest first
			break
		}
		rest = rule.re().ReplaceAllStringFunc(rest, func(s string) string { return strings.Repeat(" ", len(s)) })
	}
	return lowest
}

var (
	beginnerRe    = lazyRegexp(`(?i)\bnever (?:been )?(?:dived|dove|scuba[- ]dived|diving)\b|\bi (?:don'?t|do not) dive\b|\bsnorkel\w*|\btry[- ]?dive|\bdiscover scuba\b|没潜过|从来没有?潜|从没潜|不潜水|只浮潜|体验潜水|\b(?:beginners?|newbies?|novices?|first[- ]time diver|first (?:few )?dives?|new diver|new to diving|just (?:got )?certified|newly certified|just qualified|not (?:very )?experienced|inexperienced|few dives|learn(?:ing)? to dive)\b|新手|初学|小白|菜鸟|刚考|刚拿|第一次潜水|经验不多|没什么经验|学潜水`)
	experiencedRe = lazyRegexp(`(?i)\b(?:experienced|seasoned|veteran|hundreds of dives)\b|老手|经验丰富|资深`)
	diveCountRe   = lazyRegexp(`(?i)\b(\d{1,4})\+?\s*(?:logged\s+)?dives\b|(\d{1,4})\s*(?:支|次)\s*(?:潜水|气瓶|潜)|潜(?:水)?(?:了|过)?\s*(\d{1,4})\s*(?:次|支|瓶)`)
)

// extractExperience reads a stated experience level or number of dives.
func extractExperience(text string) string {
	if m := diveCountRe().FindStringSubmatch(text); m != nil {
		n, _ := strconv.Atoi(m[1] + m[2] + m[3])
		switch {
		case n < 20:
			return ExperienceBeginner
		case n < 100:
			return ExperienceIntermediate
		default:
			return ExperienceExperienced
		}
	}
	if beginnerRe().MatchString(text) {
		return ExperienceBeginner
	}
	if experiencedRe().MatchString(text) {
		return ExperienceExperienced
	}
	return ""
}

// ---- depth ----

var depthRules = []func() *regexp.Regexp{
	lazyRegexp(`(?i)\b(?:no|not|nothing)\s+(?:deeper|further|lower|below|more)\s+(?:than\s+)?(\d{1,3})\s*(m|metres?|meters?|ft|feet)\b`),
	lazyRegexp(`(?i)\b(?:can['’]?t|cannot|can not|won['’]?t|don['’]?t|doesn['’]?t|shouldn['’]?t|not allowed to|never|would rather not|prefer not to)\s+(?:want to\s+|like to\s+|wish to\s+|need to\s+)?(?:go|dive|descend|been)\s+(?:any\s+)?(?:below|deeper than|deeper|past|beyond|more than|lower than)\s*(\d{1,3})\s*(m|metres?|meters?|ft|feet)\b`),
	lazyRegexp(`(?i)\b(?:less than|shallower than|under|above)\s*(\d{1,3})\s*(m|metres?|meters?|ft|feet)\b`),
	lazyRegexp(`(?i)\bmax(?:imum|\.)?\s*(?:depth\s*)?(?:of\s*|is\s*|:\s*)?(\d{1,3})\s*(m|metres?|meters?|ft|feet)\b`),
	lazyRegexp(`(?i)\b(\d{1,3})\s*(m|metres?|meters?|ft|feet)\s*(?:max(?:imum)?|limit|or less|or shallower|at most|tops)\b`),
	lazyRegexp(`(?i)\b(?:limit(?:ed)?|depth limit|shallower|stay (?:above|within|shallower than)|certified (?:to|for)|only (?:go |dive )?(?:down )?to|can (?:only )?(?:go|dive) (?:down )?to|at most)\s*(?:to|than|of|is)?\s*(\d{1,3})\s*(m|metres?|meters?|ft|feet)\b`),
	lazyRegexp(`(?:不超过|不要超过|不能超过|不想超过|不想潜超过|不愿超过|不想下到|不想深于|不深于|没潜过|最深只到|最深只能到|最深到|最深|最多|限深|只能潜到|只能下到|只能到|只能潜|深度限制)\s*(?:是|为)?\s*(\d{1,3})\s*(英尺|米|m|公尺)`),
	lazyRegexp(`(\d{1,3})\s*(英尺|米|m|公尺)\s*(?:以内|以浅|之内|以下|内)`),
}

var noDepthLimitRe = lazyRegexp(`(?i)\bno depth limit\b|\bany depth\b|不限深度|深度不限`)

// extractDepth reads a stated depth limit in metres (feet are converted).
func extractDepth(text string) (int, bool) {
	for _, re := range depthRules {
		if m := re().FindStringSubmatch(text); m != nil {
			n, _ := strconv.Atoi(m[1])
			if u := strings.ToLower(m[2]); u == "ft" || u == "feet" || u == "英尺" {
				n = int(float64(n) * 0.3048)
			}
			if n >= 3 && n <= 100 {
				return n, true
			}
		}
	}
	if noDepthLimitRe().MatchString(text) {
		return 0, true
	}
	return 0, false
}

// ---- places and wishes ----

// term maps words for one canonical key. Latin aliases match whole words,
// case-insensitively; Han aliases match anywhere.
type term struct {
	key     string
	aliases []string
	re      func() *regexp.Regexp
	probes  []string // lower-case first words of the aliases: a cheap test before the regexp
}

func compileTerms(list []term) []term {
	for i := range list {
		var parts []string
		for _, a := range list[i].aliases {
			q := regexp.QuoteMeta(a)
			if isLatin(a) {
				q = `\b` + strings.ReplaceAll(q, ` `, `[\s-]+`) + `\b`
			}
			parts = append(parts, q)
		}
		list[i].re = lazyRegexp(`(?i)` + strings.Join(parts, "|"))
		for _, a := range list[i].aliases {
			list[i].probes = append(list[i].probes, strings.ToLower(strings.Fields(a)[0]))
		}
	}
	return list
}

func isLatin(s string) bool {
	for _, r := range s {
		if r >= unicode.MaxASCII {
			return false
		}
	}
	return true
}

// matchTermsNegated is matchTerms that also returns the keys named only
// after a negation ("not Sabah", "不去沙巴", "besides Tioman").
func matchTermsNegated(text string, terms []term) (named, negated []string) {
	named = matchTerms(text, terms)
	for _, k := range matchTermsWhere(text, terms, true) {
		if !slices.Contains(named, k) {
			negated = append(negated, k)
		}
	}
	return named, negated
}

// matchTerms returns the keys whose aliases occur in text, in order of first
// occurrence. A match inside a longer match of an earlier term is not counted
// again ("whale shark" is not also "shark"), so specific terms come first.
func matchTerms(text string, terms []term) []string { return matchTermsWhere(text, terms, false) }

// matchTermsWhere returns the keys named without a negation before them, or
// (negated) only those named after one.
func matchTermsWhere(text string, terms []term, negated bool) []string {
	type hit struct {
		key string
		pos int
	}
	var hits []hit
	masked := text
	lower := strings.ToLower(text)
	for _, t := range terms {
		if !slices.ContainsFunc(t.probes, func(p string) bool { return strings.Contains(lower, p) }) {
			continue // no alias can match: skip the regexp, which is far slower
		}
		locs := t.re().FindAllStringIndex(masked, -1)
		if len(locs) == 0 {
			continue
		}
		first := -1
		for _, l := range locs {
			if (negatedBefore(masked[:l[0]]) || negatedAfter(masked[:l[0]], masked[l[1]:])) == negated {
				first = l[0]
				break
			}
		}
		if first >= 0 {
			hits = append(hits, hit{t.key, first})
		}
		b := []byte(masked)
		for _, l := range locs {
			for i := l[0]; i < l[1]; i++ {
				b[i] = 0
			}
		}
		masked = string(b)
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].pos < hits[j].pos })
	var keys []string
	for _, h := range hits {
		if !slices.Contains(keys, h.key) {
			keys = append(keys, h.key)
		}
	}
	return keys
}

var negationRe = lazyRegexp(`(?i)(?:\bnot|\bno|\bwithout|\bexcept|\bbesides|\bother than|\bapart from|\bexcluding|\binstead of|\brather than|\bavoid(?:ing)?|\bskip(?:ping)?|n['’]t (?:want to )?(?:go|fly|travel|dive)(?: to| in| at)?|n['’]t want(?: to (?:go|dive|visit))?(?: to| in)?|\brather not(?: go| dive| visit)?(?: to| in)?|n['’]t need(?: an?| the)?|不需要|不用|无需|不要去|不想去|不去|不要|不想|不考虑|除了|避开|别去)\s*(?:the\s+|any\s+|in\s+|to\s+)?$`)

// closedAfterRe marks a place named as closed ("the east coast is closed",
// "东海岸关闭"): the diver is asking where else to go.
var closedAfterRe = lazyRegexp(`(?i)^\s*(?:(?:is|are)\s+)?(?:closed|shut)\b|^\s*(?:都)?(?:关闭|不开放|停运|封岛)|^\s*(?:就|也|我)?(?:不去了?|不考虑了?|算了|免了)`)

// questionBeforeRe: "is Tioman closed?" asks, it does not rule Tioman out.
var questionBeforeRe = lazyRegexp(`(?i)\b(?:is|are|was|will)\s+(?:the\s+)?$`)

// negatedAfter: the place is named as closed or ruled out after it, in a
// clause that is not a question.
func negatedAfter(before, after string) bool {
	if !closedAfterRe().MatchString(after) || questionBeforeRe().MatchString(before) {
		return false
	}
	clause := after
	if i := strings.IndexAny(after, "，,。.;；!！"); i >= 0 {
		clause = after[:i]
	}
	return !strings.ContainsAny(clause, "?？") && !strings.Contains(clause, "吗")
}

// negatedBefore reports a name just after "not", "no", "without", "不要"…:
// "sharks but not hammerheads" wishes for sharks only.
func negatedBefore(before string) bool {
	if len(before) > 40 {
		before = before[len(before)-40:]
	}
	return negationRe().MatchString(before)
}

// mentions reports whether lower (lower-cased text) names key of terms: a
// Latin alias as a whole word (its spaces may also be hyphens), a Han alias
// anywhere. It is the fast path for long passages, where running every
// regexp costs most of a message's CPU; unlike matchTerms it does not mask
// longer names ("whale shark" also mentions sharks) or see negation.
func mentions(lower string, terms []term, key string) bool {
	for _, t := range terms {
		if t.key != key {
			continue
		}
		for _, a := range t.aliases {
			a = strings.ToLower(a)
			if !isLatin(a) {
				if strings.Contains(lower, a) {
					return true
				}
				continue
			}
			if containsWord(lower, a) || (strings.Contains(a, " ") && containsWord(lower, strings.ReplaceAll(a, " ", "-"))) {
				return true
			}
		}
	}
	return false
}

// containsWord finds w in s with no letter or digit right before or after it.
func containsWord(s, w string) bool {
	for from := 0; ; {
		i := strings.Index(s[from:], w)
		if i < 0 {
			return false
		}
		start, end := from+i, from+i+len(w)
		if (start == 0 || !isWordByte(s[start-1])) && (end == len(s) || !isWordByte(s[end])) {
			return true
		}
		from = start + 1
	}
}

func isWordByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_'
}

// Wishes lists the canonical wishes Extract can return.
func Wishes() []string { return keys(vocab().wishTerms) }

// Places lists the canonical place keys Extract can return.
func Places() []string { return keys(vocab().placeTerms) }

func keys(list []term) []string {
	out := make([]string, len(list))
	for i, t := range list {
		out[i] = t.key
	}
	return out
}

// lazyRegexp compiles its pattern on first use. The planner's forty patterns
// took a millisecond of every process start (GODEBUG=inittrace=1), for
// commands that never plan as much as for the server before its first message.
// Every pattern is compiled by a test (lazyPatterns), so a bad one still
// fails in CI.
func lazyRegexp(pattern string) func() *regexp.Regexp {
	re := sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(pattern) })
	lazyPatterns = append(lazyPatterns, re)
	return re
}

// lazyPatterns are every lazyRegexp made, for the test that compiles them
// all. They are all made during package initialisation.
var lazyPatterns []func() *regexp.Regexp
