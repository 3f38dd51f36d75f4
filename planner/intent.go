package planner

import (
	"regexp"
	"slices"
	"strings"
	"sync"
)

// Intents: what a message asks, beyond "where should I dive?". An answer
// answers the question asked first, then lists sites when they help.
const (
	IntentWhere      = "where"      // which sites (the default)
	IntentWhen       = "when"       // which months, for an animal or a place
	IntentCan        = "can"        // may I dive this site? yes or no, the rule, and what would change it
	IntentArrange    = "arrange"    // permits, booking, park rules
	IntentSafety     = "safety"     // security zone, curfew, currents, dangers
	IntentConditions = "conditions" // visibility, currents, water temperature
	IntentFirstTime  = "first_time" // never dived, a try dive, snorkelling, children
	IntentConfirm    = "confirm"    // is it true that …? (a rule the diver heard of)
)

// intentRules are tried in order; a message may have several intents.
// Each has probes: lower-case words one of which any match contains, a
// cheap test before the regular expression (which was a sixth of a
// message's planner CPU when run on every message).
var intentRules = []struct {
	intent string
	probes []string
	re     func() *regexp.Regexp
}{
	{IntentFirstTime, []string{"never", "non", "try", "discover", "intro", "snorkel", "first time", "certif", "kid", "child", "son", "daughter", "year", "没潜", "从来", "从没", "体验", "浮潜", "不会潜", "没有", "孩子", "小孩", "儿童", "儿子", "女儿"}, lazyRegexp(`(?i)\bnever (?:been )?(?:dived|dove|scuba|diving)\b|\bnon[- ]divers?\b|\btry[- ]?dives?\b|\bdiscover scuba\b|\bintro(?:ductory)? dives?\b|\bsnorkel\w*|\bfirst time (?:diving|scuba)\b|\bnot certified\b|\bno certification\b|\b(?:kids?|children|child|son|daughter)\b|没潜过|从来没有?潜|从没潜|体验潜水|浮潜|不会潜水|没有(?:潜水)?证|孩子|小孩|儿童|儿子|女儿`)},
	{IntentCan, []string{"can", "could", "may", "allowed", "possible", "able", "now that", "am i", "qualify", "能", "可以", "可不可以", "资格"}, lazyRegexp(`(?i)\b(?:can|could|may|am i allowed to|is it possible for me to|would i be able to|will i be able to|allowed to)\s+(?:i|we|an? \w+ \w+ diver|open water divers?)?\s*(?:still\s+)?(?:do|dive|go (?:into|in|to|deeper)|enter|visit|join)\b|\bnow that i'?m\b.*\b(?:deeper|can)\b|\bam i (?:qualified|certified) (?:for|to)\b|\bdo i qualify\b|能不能潜|可不可以潜|(?:可以|能)[^。！]{0,6}(?:去|潜|进)[^。！]{0,12}[吗？?]|能进|可以进|够不够资格|有资格|能不能去|可以下|能下`)},
	{IntentWhen, []string{"when", "month", "time of", "best", "什么时候", "月", "季节", "时间"}, lazyRegexp(`(?i)\bwhen\b.*\b(?:best|see|go|season|time|are|is|do)\b|\bwhich months?\b|\bwhat months?\b|\bwhat time of (?:the )?year\b|\bbest (?:time|month|season)\b|什么时候|哪个月|几月|哪几个月|季节|最佳时间|什么月份`)},
	{IntentArrange, []string{"permit", "book", "reserv", "arrange", "what do i need", "park", "fee", "许可", "预订", "预定", "订", "准备", "手续", "门票", "费用"}, lazyRegexp(`(?i)\bpermits?\b|\bbook(?:ing)?\b|\breserv\w*|\barrange\w*|\bwhat do i need\b|\bpark (?:fee|rules?)\b|\bfees?\b|许可证?|预订|预定|订|准备什么|需要准备|需要什么手续|手续|门票|费用`)},
	{IntentSafety, []string{"safe", "danger", "kidnap", "security", "curfew", "esszone", "pirat", "decompression", "chamber", "安全", "危险", "绑架", "宵禁", "治安", "减压"}, lazyRegexp(`(?i)\bsafe(?:ty)?\b|\bdanger\w*|\bkidnap\w*|\bsecurity\b|\bcurfew\b|\besszone\b|\bpirat\w*|\bdecompression\b|\bchamber\b|安全|危险|绑架|宵禁|治安|减压舱|减压病`)},
	{IntentConfirm, []string{"true", "right", "correct", "heard", "read that", "really need", "真的", "是真", "听说"}, lazyRegexp(`(?i)\bis it true\b|\bis that (?:right|true|correct)\b|\bi (?:heard|read) that\b|\bdo i really need\b|真的吗|是真的|是不是真的|听说`)},
	{IntentConditions, []string{"visib", "viz", "current", "temp", "warm", "cold", "wetsuit", "condition", "sea state", "wave", "能见度", "水流", "流大", "水温", "温度", "防寒", "湿衣", "海况", "浪大", "怕冷", "多少度"}, lazyRegexp(`(?i)\bvisibility\b|\bviz\b|\bcurrents?\b|\bwater temp\w*|\btemperature\b|\bhow (?:warm|cold)\b|\bget cold\b|怕冷|多少度|\bwetsuit\b|\bconditions\b|\bsea state\b|\bwaves\b|能见度|水流|流大|水温|温度|防寒衣|湿衣|海况|浪大`)},
}

// intents lists what the message asks, where first when nothing else is
// recognised.
func intents(message string) []string {
	var out []string
	lower := strings.ToLower(message)
	for _, r := range intentRules {
		if slices.ContainsFunc(r.probes, func(p string) bool { return strings.Contains(lower, p) }) && r.re().MatchString(message) {
			out = append(out, r.intent)
		}
	}
	if len(out) == 0 {
		out = []string{IntentWhere}
	}
	return out
}

func hasIntent(list []string, intent string) bool { return slices.Contains(list, intent) }

// siteOwnNames are the site's own names as messages write them: the part
// of the English name before the island and any bracket, the Chinese name's
// part after the "·" and before any bracket.
func siteOwnNames(s Site) (en, zh string) {
	en, _, _ = strings.Cut(s.NameEn, ",")
	en, _, _ = strings.Cut(en, " (")
	en = strings.ToLower(strings.TrimSpace(en))
	zh = s.NameZh
	if _, after, ok := strings.Cut(zh, "·"); ok {
		zh = after
	}
	zh, _, _ = strings.Cut(zh, "（")
	return en, zh
}

// nameRegexps caches the case-insensitive pattern of each site name.
var nameRegexps sync.Map

func nameRegexp(name string) *regexp.Regexp {
	if re, ok := nameRegexps.Load(name); ok {
		return re.(*regexp.Regexp)
	}
	re := regexp.MustCompile(`(?i)` + regexp.QuoteMeta(name))
	nameRegexps.Store(name, re)
	return re
}

// maskSiteNames blanks the named sites' own names in message, so their
// words are not read as wishes.
func maskSiteNames(message string, sites []Site, named []string) string {
	for _, s := range sites {
		if !slices.Contains(named, s.Slug) {
			continue
		}
		en, zh := siteOwnNames(s)
		if len(en) >= 6 {
			// Case-insensitive on the message itself: lower-casing can change
			// byte offsets, and a cut inside a character would corrupt it.
			message = nameRegexp(en).ReplaceAllString(message, " ")
		}
		if len([]rune(zh)) >= 3 {
			message = strings.ReplaceAll(message, zh, " ")
		}
	}
	return message
}

// namedSites returns the slugs of the sites the message names by their own
// name ("Turtle Cavern", "Barracuda Point", "海龟洞"), not by their island:
// the part of the English name before the comma, and the Chinese name's part
// after the "·". Names shorter than six letters (or three Han characters)
// are ignored, as they would match ordinary words.
func namedSites(message string, sites []Site) []string {
	lower := strings.ToLower(message)
	var out []string
	for _, s := range sites {
		en, zh := siteOwnNames(s)
		switch {
		case len(en) >= 6 && containsWord(lower, en):
		case len([]rune(zh)) >= 3 && strings.Contains(message, zh):
		default:
			continue
		}
		out = append(out, s.Slug)
	}
	return out
}
