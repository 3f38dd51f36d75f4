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
			parts = append(parts, fmt.Sprintf("%d–%d月", r[0], r[1]))
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

var wishZh = map[string]string{
	"turtles": "海龟", "hammerheads": "双髻鲨（锤头鲨）", "whale_sharks": "鲸鲨", "sharks": "鲨鱼", "manta": "蝠鲼",
	"macro": "微距生物", "nudibranchs": "海蛞蝓（裸鳃）", "wrecks": "沉船", "walls": "峭壁", "drift": "放流潜水",
	"reef": "珊瑚礁", "barracuda": "梭鱼", "jacks": "鲹鱼", "pelagics": "大型鱼类",
}

var wishEn = map[string]string{
	"turtles": "turtles", "hammerheads": "hammerheads", "whale_sharks": "whale sharks", "sharks": "sharks",
	"manta": "mantas", "macro": "macro life", "nudibranchs": "nudibranchs", "wrecks": "wrecks", "walls": "walls",
	"drift": "drift dives", "reef": "coral reefs", "barracuda": "barracuda", "jacks": "jacks and trevally",
	"pelagics": "big pelagics",
}

func wishName(lang, wish string) string {
	if lang == LangZh {
		if s, ok := wishZh[wish]; ok {
			return s
		}
	}
	if s, ok := wishEn[wish]; ok {
		return s
	}
	return wish
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

var placeZh = map[string]string{
	"sipadan": "诗巴丹", "mabul": "马布岛", "kapalai": "卡帕莱", "mataking": "马达京", "pom-pom": "邦邦岛",
	"lankayan": "兰卡央", "layang-layang": "拉央拉央", "tar-park": "东姑阿都拉曼海洋公园", "labuan": "纳闽",
	"perhentian": "停泊岛", "redang": "热浪岛", "lang-tengah": "浪中岛", "tioman": "刁曼岛", "langkawi": "兰卡威",
	"miri": "美里", "semporna": "仙本那", "sandakan": "山打根", "kota-kinabalu": "亚庇", "east-coast": "东海岸",
	"borneo": "婆罗洲", "sabah": "沙巴", "sarawak": "砂拉越", "terengganu": "登嘉楼", "pahang": "彭亨",
	"johor": "柔佛", "kedah": "吉打",
}

// placeName writes a place key for people: "layang-layang" → "Layang-Layang".
func placeName(lang, key string) string {
	if lang == LangZh {
		if s, ok := placeZh[key]; ok {
			return s
		}
	}
	switch key {
	case "east-coast":
		return "the east coast"
	case "tar-park":
		return "Tunku Abdul Rahman Park"
	case "layang-layang":
		return "Layang-Layang"
	}
	words := strings.Split(key, "-")
	for i, w := range words {
		words[i] = strings.ToUpper(w[:1]) + w[1:]
	}
	return strings.Join(words, " ")
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
		if zh, ok := placeZh[slugify(region)]; ok {
			region = zh
		}
		if zh, ok := placeZh[slugify(state)]; ok {
			state = zh
		}
	}
	if region == "" || region == state {
		return state
	}
	return region + tr(lang, ", ", "，") + state
}
