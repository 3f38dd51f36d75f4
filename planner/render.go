package planner

import (
	"fmt"
	"slices"
	"strings"

	"github.com/dovvydive/backend/models"
)

// This file holds every word the planner writes about its decisions, in
// English and Chinese. Select (filter.go) decides without words; the
// extractive generator prints what these functions write, and the Gemini
// generator is handed the same lines to explain.

// Depth limits of recreational certifications, as training agencies set
// them: an answer states them where a site goes deeper.
var certDepthLimit = map[string]int{"open_water": 18, "advanced_open_water": 30}

// Lead is the answer to the question asked, before any list of sites: the
// yes or no of a "can I", the months of a "when", the permits, the safety
// notes, the conditions, the first-timer's options. Empty for a plain
// "where".
func Lead(req Request) []string {
	lang, c, sel := req.Language, req.Constraints, req.Selection
	var out []string
	if hasIntent(req.Intents, IntentCan) {
		out = append(out, canLines(lang, c, sel, req.Message, req.Intents)...)
	}
	if hasIntent(req.Intents, IntentWhen) {
		out = append(out, whenLines(lang, c, sel, req)...)
	}
	if hasIntent(req.Intents, IntentFirstTime) {
		out = append(out, firstTimeLines(lang, c)...)
	}
	if hasIntent(req.Intents, IntentArrange) {
		out = append(out, arrangeLines(lang, req)...)
	}
	if hasIntent(req.Intents, IntentSafety) {
		out = append(out, safetyLines(lang, req, 4)...)
	}
	if hasIntent(req.Intents, IntentConditions) {
		out = append(out, conditionLines(lang, req)...)
	}
	return out
}

// Findings are what the answer must say about nothing fitting and about
// wishes no presented site offers: why, and where and when they are found.
func Findings(req Request) []string {
	lang, c, sel := req.Language, req.Constraints, req.Selection
	var out []string
	if len(sel.Fits) == 0 {
		out = append(out, noFitText(lang, sel.NoFit, c))
	}
	presented := map[string]int{}
	for _, p := range sel.Presented() {
		for _, w := range p.Wishes {
			presented[w]++
		}
	}
	for _, f := range sel.Wishes {
		if !f.Offered {
			out = append(out, unmetText(lang, f, c))
			continue
		}
		if presented[f.Wish] >= 2 || !isAnimalWish(f.Wish) || len(sel.Elsewhere) > 0 {
			continue
		}
		// One site offers it: say where else it is recorded, and when.
		var also []string
		for _, wp := range f.Found {
			if len(also) < 3 && !slices.ContainsFunc(sel.Presented(), func(p Candidate) bool { return p.Site.Slug == wp.Site.Slug }) {
				also = append(also, wishPlaceText(lang, wp, c))
			}
		}
		if len(also) > 0 {
			out = append(out, fmt.Sprintf(tr(lang, "%s are also recorded at %s.", "%s的其他记录：%s。"), capitalize(wishName(lang, f.Wish)), strings.Join(also, tr(lang, "; ", "；"))))
		}
	}
	if len(sel.Elsewhere) > 0 {
		names := make([]string, len(c.Wishes))
		for i, w := range c.Wishes {
			names[i] = wishName(lang, w)
		}
		when := ""
		if len(c.Months) > 0 {
			when = fmt.Sprintf(tr(lang, " in %s", "在%s"), formatMonths(lang, c.Months))
		}
		var where []string
		for _, e := range sel.Elsewhere {
			where = append(where, siteName(lang, e.Site))
		}
		if lang == LangZh {
			out = append(out, fmt.Sprintf("%s的潜点%s都没有%s的记录；%s有，列在最后。", placeNames(lang, c.Places), when, joinList(lang, names), joinList(lang, where)))
		} else {
			out = append(out, fmt.Sprintf("No site in %s has %s%s on record; %s, listed last, %s.", placeNames(lang, c.Places),
				joinList(lang, names), when, joinList(lang, where), map[bool]string{true: "do", false: "does"}[len(where) > 1]))
		}
		for _, f := range sel.Wishes {
			var at []string
			for _, wp := range f.Found[:min(3, len(f.Found))] {
				if len(wp.Months) > 0 && len(wp.Months) < 12 {
					at = append(at, wishPlaceText(lang, wp, c))
				}
			}
			if len(at) > 0 {
				out = append(out, fmt.Sprintf(tr(lang, "%s are recorded at %s.", "%s的记录：%s。"), capitalize(wishName(lang, f.Wish)), strings.Join(at, tr(lang, "; ", "；"))))
			}
		}
	}
	if len(sel.DaylightOnly) > 0 {
		out = append(out, fmt.Sprintf(tr(lang, "No night dives at %s: the park allows diving there only in daylight.",
			"%s不能夜潜：公园只允许白天潜水。"), siteNames(lang, sel.DaylightOnly)))
	}
	// A site asked about by name that lacks an animal wished for says so:
	// "Jawfish Lair" has no jawfish on record.
	for _, ch := range sel.Checks {
		for _, w := range c.Wishes {
			if isAnimalWish(w) && !slices.Contains(ch.Wishes, w) {
				when := ""
				if len(c.Months) > 0 {
					when = fmt.Sprintf(tr(lang, " in %s", "在%s"), formatMonths(lang, c.Months))
				}
				if lang == LangZh {
					out = append(out, fmt.Sprintf("%s%s没有%s的记录。", siteName(lang, ch.Site), when, wishName(lang, w)))
				} else {
					out = append(out, fmt.Sprintf("%s has no %s on record%s.", siteName(lang, ch.Site), wishName(lang, w), when))
				}
			}
		}
	}
	if sel.Monsoon && sel.NoFit.Kind != NoFitMonsoon {
		out = append(out, tr(lang, "The north-east monsoon closes most resorts and boats on the peninsula's east coast from about November to February.",
			"东北季风期间（约11月至次年2月），半岛东海岸的大多数度假村和船停运。"))
	}
	return out
}

// Caveats come from the presented sites' own facts: depth limits by
// certification where a site goes deeper, rough months, a required guide,
// a park permit, the security zone.
func Caveats(req Request) []string {
	lang, c := req.Language, req.Constraints
	var out []string
	if limit, ok := certDepthLimit[c.Certification]; ok && (c.MaxDepthM == 0 || c.MaxDepthM > limit) {
		var deeper []string
		for _, cs := range req.Sites {
			if cs.Site.MaxDepthM > limit {
				deeper = append(deeper, siteName(lang, cs.Site))
			}
		}
		if len(deeper) > 0 {
			name := certName(lang, c.Certification)
			if lang == LangZh {
				out = append(out, fmt.Sprintf("%s深于%d米：持%s证书请保持在%d米以内。", joinList(lang, deeper), limit, name, limit))
			} else {
				verb := "goes"
				if len(deeper) > 1 {
					verb = "go"
				}
				out = append(out, fmt.Sprintf("%s %s deeper than %d m: as %s %s diver, stay within %d m.", joinList(lang, deeper), verb, limit, article(name), name, limit))
			}
		}
	}
	if !hasIntent(req.Intents, IntentArrange) {
		var issuers []*models.Permit
		bySite := map[string][]Site{}
		for _, cs := range req.Sites {
			if p := cs.Site.Permit; p != nil {
				if _, ok := bySite[p.Issuer]; !ok {
					issuers = append(issuers, p)
				}
				bySite[p.Issuer] = append(bySite[p.Issuer], cs.Site)
			}
		}
		for _, p := range issuers {
			out = append(out, fmt.Sprintf(tr(lang, "%s: a permit from %s is needed; book it through your operator.",
				"%s须持%s的许可证，请通过潜店预订。"), capitalize(siteNames(lang, bySite[p.Issuer])), tr(lang, p.Issuer, orElse(p.IssuerZh, p.Issuer))))
		}
	}
	out = append(out, closureLines(lang, req)...)
	if !hasIntent(req.Intents, IntentSafety) {
		out = append(out, safetyLines(lang, req, 1)...)
	}
	return out
}

// closureLines quote the dated closures of the presented and asked-about
// sites that fell in the months asked in an earlier year (Sipadan closed
// for November 2023): the diver should check whether it recurs.
func closureLines(lang string, req Request) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range relevantSites(req) {
		for _, cl := range s.Closures {
			if cl.From == "" || seen[cl.En] || !closureInMonths(cl, req.Constraints.Months) {
				continue
			}
			seen[cl.En] = true
			out = append(out, tr(lang, cl.En+" Ask your operator whether it is closed again.", cl.Zh+"请向潜店确认今年是否再次关闭。"))
		}
	}
	return out
}

// closureInMonths: a closure's months (recurring, or the months its dates
// span) include one asked.
func closureInMonths(cl models.Closure, months []int) bool {
	ms := slices.Clone(cl.Months)
	if from, to, ok := closureSpan(cl); ok {
		for m := from; ; m = m%12 + 1 {
			ms = append(ms, m)
			if m == to || len(ms) > 12 {
				break
			}
		}
	}
	return len(intersect(months, ms)) > 0
}

// closureSpan reads the months of a dated closure ("2023-11-01" to "2023-11-30").
func closureSpan(cl models.Closure) (from, to int, ok bool) {
	var y1, d1, y2, d2 int
	if n, _ := fmt.Sscanf(cl.From, "%d-%d-%d", &y1, &from, &d1); n != 3 {
		return 0, 0, false
	}
	if n, _ := fmt.Sscanf(cl.To, "%d-%d-%d", &y2, &to, &d2); n != 3 {
		to = from
	}
	return from, to, from >= 1 && from <= 12 && to >= 1 && to <= 12
}

// WishNotes are what the presented site's facts say about the wished-for
// animals seen there in the months asked: how likely, and the note of the
// sighting ("mating at dusk in the rubble").
func WishNotes(lang string, cs ChosenSite, months []int) []string {
	var out []string
	for _, w := range cs.Wishes {
		for _, sg := range cs.Site.Sightings {
			if !sightingOffers(sg, w, months) {
				continue
			}
			note := tr(lang, sg.En, sg.Zh)
			line := fmt.Sprintf(tr(lang, "%s: %s", "%s：%s"), capitalize(lifeName(lang, sg.Animal)), note)
			if note == "" {
				line = capitalize(lifeName(lang, sg.Animal))
			}
			switch sg.Likelihood {
			case models.LikelihoodRare:
				line += tr(lang, " (rare: not guaranteed).", "（少见，不能保证）。")
			case models.LikelihoodSeasonal:
				line += fmt.Sprintf(tr(lang, " (seasonal: %s).", "（季节性：%s）。"), formatMonths(lang, sg.Months))
			default:
				line += tr(lang, ".", "。")
			}
			out = append(out, line)
			break
		}
	}
	return out
}

// sightingOffers: the sighting is of an animal the wish is for, seen in a
// month asked (any, when none are).
func sightingOffers(sg models.Sighting, wish string, months []int) bool {
	if len(months) > 0 && len(sg.Months) > 0 && len(intersect(months, sg.Months)) == 0 {
		return false
	}
	return isTheWish(wish, sg.Animal)
}

func orElse(s, other string) string {
	if strings.TrimSpace(s) == "" {
		return other
	}
	return s
}

// SiteReason says briefly why a presented site was chosen, or for an
// alternative, what differs.
func SiteReason(lang string, cand Candidate, c Constraints, alternative bool) string {
	s := cand.Site
	var parts []string
	if alternative && cand.Outside && len(c.Places) > 0 {
		parts = append(parts, fmt.Sprintf(tr(lang, "not in %s", "不在%s"), placeNames(lang, c.Places)))
	}
	open := openMonths(s)
	switch {
	case open == nil: // not known: say nothing rather than guess
	case len(sortedUnique(open)) >= 12:
		parts = append(parts, tr(lang, "dived all year", "全年可潜"))
	case len(c.Months) > 0:
		parts = append(parts, fmt.Sprintf(tr(lang, "open in %s", "%s开放"), formatMonths(lang, intersect(c.Months, open))))
	default:
		parts = append(parts, fmt.Sprintf(tr(lang, "dived %s", "%s可潜"), formatMonths(lang, open)))
	}
	if open != nil {
		parts[len(parts)-1] += bestSuffix(lang, s, open)
	}
	if rough := intersect(c.Months, s.RoughMonths); len(rough) > 0 {
		parts = append(parts, fmt.Sprintf(tr(lang, "rougher seas in %s", "%s海况较差"), formatMonths(lang, rough)))
	}
	parts = append(parts, fmt.Sprintf(tr(lang, "%d–%d m", "%d–%d米"), s.MinDepthM, s.MaxDepthM))
	if c.MaxDepthM > 0 && s.MaxDepthM > c.MaxDepthM {
		parts = append(parts, fmt.Sprintf(tr(lang, "from %d m, so it can be dived within your %d m", "从%d米起，可在你的%d米以内潜"), s.MinDepthM, c.MaxDepthM))
	}
	if s.MinCertification != "" {
		parts = append(parts, fmt.Sprintf(tr(lang, "%s and above", "%s及以上"), certName(lang, s.MinCertification)))
	}
	if len(cand.Wishes) > 0 {
		names := make([]string, len(cand.Wishes))
		for i, w := range cand.Wishes {
			names[i] = wishName(lang, w)
		}
		parts = append(parts, fmt.Sprintf(tr(lang, "for %s", "可看%s"), joinList(lang, names)))
		for _, w := range cand.Wishes {
			if ms := wishSeason(s, w); len(ms) > 0 && len(ms) < 12 {
				parts = append(parts, fmt.Sprintf(tr(lang, "%s seen %s", "%s出现于%s"), wishName(lang, w), formatMonths(lang, ms)))
			}
		}
	}
	if s.GuideRequired {
		parts = append(parts, tr(lang, "only with a guide", "须由向导带领"))
	}
	return strings.Join(parts, tr(lang, "; ", "；"))
}

// blockText writes one rule that keeps the diver from a site.
func blockText(lang string, b Block, c Constraints, plural bool) string {
	// English needs the subject ("it needs" / "they need"); Chinese does not.
	it := func(one, many string) string {
		if plural {
			return many
		}
		return one
	}
	switch b.Kind {
	case RuleCertification:
		return fmt.Sprintf(tr(lang, it("it needs", "they need")+" %s", "须持%s证书"), certName(lang, b.Level))
	case RuleBeginner:
		return tr(lang, it("it is not a beginner's site", "they are not beginners' sites"), "不适合新手")
	case RuleSpecialty:
		names := make([]string, len(b.Specialties))
		for i, sp := range b.Specialties {
			names[i] = specialtyName(lang, sp)
		}
		return fmt.Sprintf(tr(lang, it("it needs", "they need")+" %s training", "须受过%s训练"), joinList(lang, names))
	case RuleAge:
		return fmt.Sprintf(tr(lang, "divers must be at least %d", "潜水员须年满%d岁"), b.Age)
	case RuleDepth:
		return fmt.Sprintf(tr(lang, it("it starts", "they start")+" at %d m, below your %d m", "从%d米起，超过你的%d米"), b.Depth, c.MaxDepthM)
	case RuleClosed:
		return fmt.Sprintf(tr(lang, it("it is", "they are")+" closed in %s", "%s不开放"), formatMonths(lang, b.Months))
	case RuleAvoided:
		return fmt.Sprintf(tr(lang, it("it is", "they are")+" in %s, which you ruled out", "位于你不考虑的%s"), placeNames(lang, c.AvoidPlaces))
	}
	return b.Kind
}

// blocksText writes the rules that keep the diver from one site, or from
// several (plural) that share them.
func blocksText(lang string, bs []Block, c Constraints, plural bool) string {
	parts := make([]string, len(bs))
	for i, b := range bs {
		parts[i] = blockText(lang, b, c, plural)
	}
	return joinList(lang, parts)
}

func specialtyName(lang, sp string) string {
	switch sp {
	case string(models.SpecialtyCavern):
		return tr(lang, "cavern", "洞穴入口潜水")
	case string(models.SpecialtyDeep):
		return tr(lang, "deep", "深潜")
	case string(models.SpecialtyWreckPenetration):
		return tr(lang, "wreck penetration", "沉船穿透")
	}
	return sp
}

// canLines answer "may I dive it?": for the sites asked about, yes or no
// with the rule and what would change it (sites sharing the same answer in
// one line); with no site named, what the diver's certification allows.
func canLines(lang string, c Constraints, sel Selection, message string, asked []string) []string {
	var out []string
	type group struct {
		names  []string
		blocks []Block
		site   Site
	}
	var groups []*group
	byText := map[string]*group{}
	for _, ch := range sel.Checks {
		key := blocksText(lang, ch.Blocks, c, false)
		if ch.Site.GuideRequired {
			key += "|guide"
		}
		g, ok := byText[key]
		if !ok {
			g = &group{blocks: ch.Blocks, site: ch.Site}
			byText[key] = g
			groups = append(groups, g)
		}
		g.names = append(g.names, ch.Site.Slug)
	}
	bySlug := map[string]Site{}
	for _, ch := range sel.Checks {
		bySlug[ch.Site.Slug] = ch.Site
	}
	// "Is it true that Sipadan needs AOW?" is confirmed by a block; "is it
	// true that I can dive it?" is denied by one.
	confirm := hasIntent(asked, IntentConfirm)
	heardPermission := confirm && permissionClaimRe().MatchString(message)
	for _, g := range groups {
		var list []Site
		for _, slug := range g.names {
			list = append(list, bySlug[slug])
		}
		names := siteNames(lang, list)
		if len(g.blocks) > 0 && confirm {
			if heardPermission {
				out = append(out, tr(lang, "No, that is not right:", "不，不是这样："))
			} else {
				out = append(out, tr(lang, "Yes, that is right:", "是的，没错："))
			}
			confirm = false
		}
		if len(g.blocks) == 0 {
			extra := ""
			if g.site.GuideRequired {
				extra = tr(lang, ", with a guide", "，须由向导带领")
			}
			out = append(out, fmt.Sprintf(tr(lang, "Yes: you may dive %s%s.", "可以：你可以潜%s%s。"), names, extra))
			continue
		}
		line := fmt.Sprintf(tr(lang, "You cannot dive %s: %s.", "你不能潜%s：%s。"), names, blocksText(lang, g.blocks, c, len(g.names) > 1))
		if fix := whatChanges(lang, g.blocks, g.site); fix != "" {
			line += tr(lang, " ", "") + fix
		}
		out = append(out, line)
	}
	if len(sel.Checks) == 0 && c.Certification != "" {
		if limit, ok := certDepthLimit[c.Certification]; ok {
			name := certName(lang, c.Certification)
			if lang == LangZh {
				out = append(out, fmt.Sprintf("持%s证书可潜到%d米（开放水域18米，进阶开放水域30米）。", name, limit))
			} else {
				out = append(out, fmt.Sprintf("As %s %s diver you may dive to %d m (Open Water divers to 18 m, Advanced Open Water divers to 30 m).",
					article(name), name, limit))
			}
		}
	}
	return out
}

// siteNames lists sites for people; sites of one island share it:
// "Barracuda Point, Drop-Off and South Point (Sipadan)".
func siteNames(lang string, sites []Site) string {
	switch len(sites) {
	case 0:
		return ""
	case 1:
		return siteName(lang, sites[0])
	}
	island := func(s Site) (short, where string) {
		if lang == LangZh {
			if w, sh, ok := strings.Cut(s.NameZh, "·"); ok {
				return sh, w
			}
			return s.NameZh, ""
		}
		if sh, w, ok := strings.Cut(s.NameEn, ", "); ok {
			return sh, w
		}
		return s.NameEn, ""
	}
	var shorts []string
	_, where := island(sites[0])
	for _, s := range sites {
		sh, w := island(s)
		if w != where || w == "" {
			names := make([]string, len(sites))
			for i, s := range sites {
				names[i] = siteName(lang, s)
			}
			return joinList(lang, names)
		}
		shorts = append(shorts, sh)
	}
	if lang == LangZh {
		return where + "的" + joinList(lang, shorts)
	}
	return joinList(lang, shorts) + " (" + where + ")"
}

// permissionClaimRe: what the diver heard is that they may ("I can dive
// it", "开放水域可以潜").
var permissionClaimRe = lazyRegexp(`(?i)\b(?:i|we|you|open water divers?)\s+(?:can|may|could|are allowed to)\b|\bcan (?:i|we|you|an? \w+ (?:\w+ )?diver)\b|可以潜|能潜|可以去|能去`)

// whatChanges says what would open a blocked site to the diver: the
// training to earn, the months boats run.
func whatChanges(lang string, bs []Block, s Site) string {
	var parts []string
	var closed bool
	for _, b := range bs {
		switch b.Kind {
		case RuleCertification:
			parts = append(parts, certName(lang, b.Level))
		case RuleSpecialty:
			names := make([]string, len(b.Specialties))
			for i, sp := range b.Specialties {
				names[i] = specialtyName(lang, sp)
			}
			parts = append(parts, fmt.Sprintf(tr(lang, "%s training", "%s训练"), joinList(lang, names)))
		case RuleClosed:
			closed = true
		}
	}
	var out []string
	if len(parts) > 0 {
		out = append(out, fmt.Sprintf(tr(lang, "With %s you could.", "取得%s之后就可以。"), joinList(lang, parts)))
	}
	if open := openMonths(s); closed && len(open) > 0 {
		out = append(out, fmt.Sprintf(tr(lang, "Boats run there %s.", "那里%s有船。"), formatMonths(lang, open)))
	}
	return strings.Join(out, tr(lang, " ", ""))
}

// whenLines answer "when?": for each wish, the months and sites it is
// recorded at; with no wish, the months boats run to the places asked.
func whenLines(lang string, c Constraints, sel Selection, req Request) []string {
	var out []string
	for _, f := range sel.Wishes {
		if len(f.Found) == 0 {
			out = append(out, fmt.Sprintf(tr(lang, "I have no site where %s are recorded.", "我掌握的潜点里没有%s的记录。"), wishName(lang, f.Wish)))
			continue
		}
		var where []string
		for _, wp := range f.Found[:min(3, len(f.Found))] {
			where = append(where, wishPlaceText(lang, wp, c))
		}
		out = append(out, fmt.Sprintf(tr(lang, "%s: %s.", "%s：%s。"), capitalize(wishName(lang, f.Wish)), strings.Join(where, tr(lang, "; ", "；"))))
	}
	if len(sel.Wishes) == 0 {
		if line := seasons(lang, req.Sites); line != "" {
			out = append(out, line)
		}
	}
	return out
}

// wishPlaceText writes where and when a wish is found, and what it needs.
func wishPlaceText(lang string, wp WishPlace, c Constraints) string {
	text := siteName(lang, wp.Site)
	switch {
	case len(wp.Months) >= 12:
		text += tr(lang, " all year", "（全年）")
	case len(wp.Months) > 0:
		text += fmt.Sprintf(tr(lang, " in %s", "（%s）"), formatMonths(lang, wp.Months))
	}
	if wp.Likelihood == models.LikelihoodRare {
		text += tr(lang, ", rarely", "，少见")
	}
	needs := wp.Blocks
	if len(needs) > 0 {
		text += fmt.Sprintf(tr(lang, " (%s)", "，但%s"), blocksText(lang, needs, c, false))
	} else if wp.Site.MinCertification != "" && wp.Site.MinCertification != models.CertificationLevels[0] && c.Certification == "" {
		text += fmt.Sprintf(tr(lang, " (needs %s)", "，须持%s证书"), certName(lang, wp.Site.MinCertification))
	}
	return text
}

// capitalize upper-cases a leading ASCII letter (a Chinese text is left
// alone: slicing its first byte would cut a character).
func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// unmetText says that no presented site offers the wish, why, and where and
// when it is found.
func unmetText(lang string, f WishFinding, c Constraints) string {
	name := wishName(lang, f.Wish)
	when := ""
	if len(c.Months) > 0 {
		when = fmt.Sprintf(tr(lang, " in %s", "在%s"), formatMonths(lang, c.Months))
	}
	head := fmt.Sprintf("None of the sites I can recommend to you has %s%s.", name, when)
	if lang == LangZh {
		head = fmt.Sprintf("我能推荐给你的潜点%s都没有%s。", when, name)
	}
	if len(f.Found) == 0 {
		return head + tr(lang, " I have no site where they are recorded.", "我掌握的潜点里没有它们的记录。")
	}
	var where []string
	for _, wp := range f.Found[:min(3, len(f.Found))] {
		where = append(where, wishPlaceText(lang, wp, c))
	}
	return head + fmt.Sprintf(tr(lang, " They are found at %s.", "它们出现在%s。"), strings.Join(where, tr(lang, "; ", "；")))
}

// firstTimeLines: what someone who has never dived, or a child, can do.
func firstTimeLines(lang string, c Constraints) []string {
	out := []string{tr(lang,
		"Without a certification you can still snorkel, or join a try dive with an instructor; to dive on your own with a buddy you need an Open Water course first. The sites below are the easiest I know, for snorkelling, a try dive or your first dives after the course.",
		"没有潜水证书也可以浮潜，或在教练带领下参加体验潜水；要和潜伴自行潜水，须先完成开放水域课程。以下是我所知最容易的潜点，适合浮潜、体验潜水或考证后的头几次潜水。")}
	if c.Age > 0 && c.Age < 18 {
		out = append(out, fmt.Sprintf(tr(lang,
			"For a %d-year-old: none of these sites lists a minimum age of its own; each dive centre sets the ages for its try dives and children's courses, so ask the operator before you book.",
			"关于%d岁的孩子：这些潜点本身都没有规定最低年龄；体验潜水和儿童课程的年龄要求由各潜水中心自定，预订前请先询问潜店。"), c.Age))
	}
	return out
}

// arrangeLines: the permits and park rules of the presented and asked-about
// sites, quoted from their facts, and booking through an operator.
func arrangeLines(lang string, req Request) []string {
	var out []string
	var texts []*models.Permit
	bySite := map[string][]Site{}
	for _, s := range relevantSites(req) {
		if s.Permit == nil {
			continue
		}
		if _, ok := bySite[s.Permit.En]; !ok {
			texts = append(texts, s.Permit)
		}
		bySite[s.Permit.En] = append(bySite[s.Permit.En], s)
	}
	for _, p := range texts {
		out = append(out, fmt.Sprintf(tr(lang, "%s (%s): %s", "%s（%s）：%s"), capitalize(siteNames(lang, bySite[p.En])),
			tr(lang, p.Issuer, orElse(p.IssuerZh, p.Issuer)), tr(lang, p.En, p.Zh)))
	}
	if len(out) == 0 {
		out = append(out, tr(lang, "None of these sites needs a park permit I know of: book the dives with an operator, who arranges boats and any marine park fees.",
			"据我所知这些潜点都不需要公园许可证：通过潜店预订潜水，船只和海洋公园费用由潜店安排。"))
	}
	return out
}

// safetyLines: up to max safety notes of the presented and asked-about
// sites (the security zone first), quoted from their facts.
func safetyLines(lang string, req Request, max int) []string {
	type note struct {
		text string
		esz  bool
	}
	var notes []note
	seen := map[string]bool{}
	for _, s := range relevantSites(req) {
		for _, n := range s.Safety {
			if seen[n.En] {
				continue
			}
			seen[n.En] = true
			notes = append(notes, note{tr(lang, n.En, n.Zh), strings.EqualFold(n.Area, "ESSZone")})
		}
	}
	slices.SortStableFunc(notes, func(a, b note) int { return boolInt(!a.esz) - boolInt(!b.esz) })
	if max == 1 { // outside a safety question, only the security zone is worth the space
		notes = slices.DeleteFunc(notes, func(n note) bool { return !n.esz })
	}
	var out []string
	for _, n := range notes[:min(max, len(notes))] {
		out = append(out, n.text)
	}
	return out
}

// conditionWords find sentences about conditions in the passages.
var conditionWords = []string{"visibility", "current", "temperature", "°c", "thermocline", "surge", "能见度", "水流", "水温", "海流"}

// conditionLines quote what the presented sites' passages say about
// visibility, currents and water temperature.
func conditionLines(lang string, req Request) []string {
	var out []string
	for _, cs := range req.Sites {
		if q, _, ok := bestQuoteAbout(lang, req.Passages, cs.Site, conditionWords); ok {
			out = append(out, fmt.Sprintf(tr(lang, "%s: “%s”", "%s：“%s”"), siteName(lang, cs.Site), q))
		}
	}
	for _, s := range relevantSites(req) {
		for _, n := range s.Safety {
			text := tr(lang, n.En, n.Zh)
			if slices.ContainsFunc(conditionWords, func(w string) bool { return strings.Contains(strings.ToLower(text), w) }) {
				out = append(out, text)
				break
			}
		}
	}
	if len(out) == 0 {
		out = append(out, tr(lang, "My site notes say nothing about visibility, currents or water temperature there: ask the operator.",
			"我的潜点资料没有提到那里的能见度、水流或水温：请询问潜店。"))
	}
	return out
}

// relevantSites are the presented sites and the sites asked about.
func relevantSites(req Request) []Site {
	var out []Site
	for _, cs := range req.Sites {
		out = append(out, cs.Site)
	}
	for _, ch := range req.Selection.Checks {
		if !slices.ContainsFunc(out, func(s Site) bool { return s.Slug == ch.Site.Slug }) {
			out = append(out, ch.Site)
		}
	}
	return out
}

// noFitText explains, in the diver's language, what excluded every site.
func noFitText(lang string, nf NoFit, c Constraints) string {
	switch nf.Kind {
	case NoFitNoSites:
		return tr(lang, "I have no dive sites to recommend yet.", "我目前还没有可推荐的潜点。")
	case NoFitNothingSafe:
		var limits []string
		if c.Certification != "" {
			name := certName(lang, c.Certification)
			limits = append(limits, fmt.Sprintf(tr(lang, "%s %s diver", "持%s证书的潜水员"), article(name), name))
			if lang == LangZh {
				limits[len(limits)-1] = fmt.Sprintf("持%s证书的潜水员", name)
			}
		}
		if c.Experience == ExperienceBeginner {
			limits = append(limits, tr(lang, "a beginner", "新手"))
		}
		if c.MaxDepthM > 0 {
			limits = append(limits, fmt.Sprintf(tr(lang, "someone staying above %d m", "不超过%d米深的潜水员"), c.MaxDepthM))
		}
		if len(limits) == 0 {
			limits = append(limits, tr(lang, "you", "你"))
		}
		msg := fmt.Sprintf(tr(lang, "No site I know is safe for %s, so I cannot recommend one.",
			"我掌握的潜点里没有适合%s的，所以无法推荐。"), joinList(lang, limits))
		if s := nf.Shallowest; s != nil {
			msg += fmt.Sprintf(tr(lang, " The shallowest that suits you otherwise is %s, which starts at %d m.",
				"除深度外最浅的合适潜点是%s，从%d米起。"), siteName(lang, *s), s.MinDepthM)
		}
		return msg
	case NoFitPlaceUnknown:
		return fmt.Sprintf(tr(lang, "I have no dive sites for %s yet.", "我还没有%s的潜点资料。"), placeNames(lang, c.Places))
	case NoFitPlaceUnsafe:
		if len(nf.PlaceBlocks) > 0 {
			return fmt.Sprintf(tr(lang, "None of the sites in %s is open to you: %s.", "%s的潜点你都不能潜：%s。"),
				placeNames(lang, c.Places), blocksText(lang, nf.PlaceBlocks, c, true))
		}
		return fmt.Sprintf(tr(lang, "None of the sites in %s suits your certification, training, experience or depth limit.",
			"%s的潜点都不符合你的证书、训练、经验或深度限制。"), placeNames(lang, c.Places))
	case NoFitMonsoon:
		return fmt.Sprintf(tr(lang,
			"%s is out of season in %s: the north-east monsoon closes most resorts and boats on the peninsula's east coast from about November to February; boats run there %s.",
			"%s在%s不是潜水季：东北季风期间（约11月至次年2月）半岛东海岸的大多数度假村和船停运，那里%s有船。"),
			placeNames(lang, c.Places), formatMonths(lang, c.Months), formatMonths(lang, nf.PlaceMonths))
	case NoFitPlaceClosed:
		return fmt.Sprintf(tr(lang, "The sites in %s that suit you are closed in %s; boats run there %s.",
			"%s适合你的潜点在%s没有船去，那里%s有船。"), placeNames(lang, c.Places), formatMonths(lang, c.Months),
			formatMonths(lang, nf.PlaceMonths))
	case NoFitClosed:
		return fmt.Sprintf(tr(lang, "No site that suits you is open in %s.", "在%s没有适合你且开放的潜点。"),
			formatMonths(lang, c.Months))
	}
	return tr(lang, "No site fits everything you asked for.", "没有完全符合你要求的潜点。")
}

// Intro restates what the diver asked for, so they can correct it.
func Intro(lang string, c Constraints, n int, alternatives bool) string {
	if alternatives {
		return tr(lang, "The nearest alternatives you may dive:", "你可以考虑的替代选择：")
	}
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
	if len(c.AvoidPlaces) > 0 {
		parts = append(parts, fmt.Sprintf(tr(lang, "not %s", "不去%s"), placeNames(lang, c.AvoidPlaces)))
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

// Closing asks for what is missing and reminds the diver to confirm.
func Closing(lang string, req Request) []string {
	var out []string
	c := req.Constraints
	var needsMore []string
	var levels []string
	byLevel := map[string][]Site{}
	count := 0
	for _, cs := range req.Sites {
		if l := cs.Site.MinCertification; l != "" && l != models.CertificationLevels[0] {
			if _, ok := byLevel[l]; !ok {
				levels = append(levels, l)
			}
			byLevel[l] = append(byLevel[l], cs.Site)
			count++
		}
	}
	for _, l := range levels {
		verb := tr(lang, "needs", "须持")
		if len(byLevel[l]) > 1 {
			verb = tr(lang, "need", "须持")
		}
		needsMore = append(needsMore, fmt.Sprintf(tr(lang, "%s %s %s", "%s%s%s证书"), siteNames(lang, byLevel[l]), verb, certName(lang, l)))
	}
	if c.Certification == "" && len(needsMore) > 0 {
		line := fmt.Sprintf(tr(lang, "Which certification do you hold? %s", "你持有哪一级潜水证书？%s"), capitalize(joinList(lang, needsMore)))
		if count < len(req.Sites) {
			line += tr(lang, "; the others are open to Open Water divers.", "；其余潜点开放水域潜水员即可。")
		} else {
			line += tr(lang, ".", "。")
		}
		out = append(out, line)
	}
	if len(c.Months) == 0 && len(req.Sites) > 0 && !hasIntent(req.Intents, IntentWhen) {
		out = append(out, tr(lang, "When are you travelling? ", "你打算什么时候去？")+seasons(lang, req.Sites))
	}
	return append(out, tr(lang, "Conditions change: confirm with the operator before you book.", "海况多变，预订前请向潜店确认。"))
}

// bestSuffix is " (best April–August)" when a site's best months differ
// from the months boats run to it (open).
func bestSuffix(lang string, s Site, open []int) string {
	if len(s.BestMonths) == 0 || slices.Equal(sortedUnique(s.BestMonths), sortedUnique(open)) {
		return ""
	}
	return fmt.Sprintf(tr(lang, " (best %s)", "（最佳%s）"), formatMonths(lang, s.BestMonths))
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
		parts = append(parts, fmt.Sprintf(tr(lang, "%s is dived %s", "%s%s可潜"), siteName(lang, s), formatMonths(lang, s.OpenMonths))+
			bestSuffix(lang, s, s.OpenMonths))
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, tr(lang, "; ", "；")) + tr(lang, ".", "。")
}

// Decisions are every line an answer must convey, in the diver's language:
// the lead, the findings and the caveats. The Gemini generator is told to
// explain them; the extractive one prints them.
func Decisions(req Request) []string {
	return append(append(Lead(req), Findings(req)...), Caveats(req)...)
}

// AskToChange closes an answer with no site at all.
func AskToChange(lang string) string {
	return tr(lang, "Tell me if you can change the dates, the area or the depth limit, and I will look again.",
		"如果你可以调整日期、地区或深度限制，告诉我，我再帮你找。")
}

// lifeHighlights names up to four animals of the site, the wished-for ones first.
func lifeHighlights(lang string, s Site, wishes []string) string {
	var first, rest []string
	for _, life := range s.MarineLife {
		wished := false
		for _, w := range wishes {
			for _, word := range wishFacts(w) {
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
