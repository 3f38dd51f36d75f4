package planner

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/dovvydive/backend/data"
)

// tr picks the English or Chinese form.
func tr(lang, en, zh string) string {
	if lang == LangZh {
		return zh
	}
	return en
}

var monthEn = []string{"", "January", "February", "March", "April", "May", "June", "July", "August",
	"September", "October", "November", "December"}

// monthRuns groups months into runs of consecutive months, wrapping past
// December when the set does ([11 12 1 2] is one run, November–February).
func monthRuns(months []int) [][2]int {
	ms := slices.Clone(months)
	slices.Sort(ms)
	ms = slices.Compact(ms)
	if len(ms) == 0 {
		return nil
	}
	var runs [][2]int
	start, prev := ms[0], ms[0]
	for _, m := range ms[1:] {
		if m == prev+1 {
			prev = m
			continue
		}
		runs = append(runs, [2]int{start, prev})
		start, prev = m, m
	}
	runs = append(runs, [2]int{start, prev})
	if len(runs) > 1 && runs[0][0] == 1 && runs[len(runs)-1][1] == 12 {
		runs[0][0] = runs[len(runs)-1][0]
		runs = runs[:len(runs)-1]
		// the wrapped run starts latest in the year; keep it first only if it is the only one
		slices.SortStableFunc(runs, func(a, b [2]int) int { return a[0] - b[0] })
	}
	return runs
}

// formatMonths writes months for people: "July", "April–August",
// "November–February", "all year"; "7月", "4–8月", "全年".
func formatMonths(lang string, months []int) string {
	if len(sortedUnique(months)) >= 12 {
		return tr(lang, "all year", "全年")
	}
	var parts []string
	for _, r := range monthRuns(months) {
		switch {
		case r[0] == r[1] && lang == LangZh:
			parts = append(parts, strconv.Itoa(r[0])+"月")
		case r[0] == r[1]:
			parts = append(parts, monthEn[r[0]])
		case lang == LangZh:
			parts = append(parts, fmt.Sprintf("%d月至%d月", r[0], r[1]))
		default:
			parts = append(parts, monthEn[r[0]]+"–"+monthEn[r[1]])
		}
	}
	return strings.Join(parts, tr(lang, ", ", "、"))
}

func sortedCopy(xs []int) []int {
	out := slices.Clone(xs)
	slices.Sort(out)
	return out
}

// certName names a certification level.
func certName(lang, level string) string {
	switch level {
	case "open_water":
		return tr(lang, "Open Water", "开放水域（OW）")
	case "advanced_open_water":
		return tr(lang, "Advanced Open Water", "进阶开放水域（AOW）")
	case "rescue_diver":
		return tr(lang, "Rescue Diver", "救援潜水员")
	case "divemaster":
		return tr(lang, "Divemaster", "潜水长（DM）")
	}
	return level
}

// lifeName names an animal in lang: in Chinese from the catalogue's
// vocabulary (data/vocabulary.yaml), which names every animal the site files use.
func lifeName(lang, life string) string {
	if lang == LangZh {
		if v, err := data.LoadVocabulary(); err == nil {
			if zh, ok := v.ZhName(life); ok {
				return zh
			}
		}
	}
	return life
}

func joinList(lang string, items []string) string {
	if lang == LangZh {
		return strings.Join(items, "、")
	}
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	case 2:
		return items[0] + " and " + items[1]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

func siteName(lang string, s Site) string {
	if lang == LangZh && s.NameZh != "" {
		return s.NameZh
	}
	return s.NameEn
}

func placeNames(lang string, keys []string) string {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = placeName(lang, k)
	}
	if lang == LangZh {
		return strings.Join(names, "、")
	}
	if len(names) <= 2 {
		return strings.Join(names, " or ")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// areaName writes a site's region and state: "Semporna, Sabah" / "仙本那，沙巴".
func areaName(lang string, s Site) string {
	region, state := s.Region, s.State
	if lang == LangZh {
		region, state = zhPlace(region), zhPlace(state)
	}
	if region == "" || region == state {
		return state
	}
	return region + tr(lang, ", ", "，") + state
}

func article(word string) string {
	if word != "" && strings.ContainsRune("AEIOU", rune(word[0])) {
		return "an"
	}
	return "a"
}
