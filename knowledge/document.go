// Package knowledge turns dive-site markdown into searchable knowledge:
// parsing documents, splitting them into chunks, embedding the chunks and
// writing them, one site at a time. knowledge/embedding holds the embedders.
package knowledge

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/dovvydive/backend/data"
	"github.com/dovvydive/backend/models"
)

// Document is one dive-site markdown file: front matter with the site's
// fields, the English body, and an optional Chinese body after a line that
// holds only "<!-- zh -->".
type Document struct {
	Site          models.DiveSite
	OperatorSlugs []string
	English       string
	Chinese       string
	// Hash identifies the file's content; unchanged files are not re-embedded.
	Hash string
}

// ParseError locates a problem in a file.
type ParseError struct {
	File string
	Line int
	Msg  string
}

func (e *ParseError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

type frontMatter struct {
	Slug             string   `yaml:"slug"`
	NameEn           string   `yaml:"nameEn"`
	NameZh           string   `yaml:"nameZh"`
	Region           string   `yaml:"region"`
	State            string   `yaml:"state"`
	Latitude         *float64 `yaml:"latitude"`
	Longitude        *float64 `yaml:"longitude"`
	MinDepthM        *int     `yaml:"minDepthM"`
	MaxDepthM        *int     `yaml:"maxDepthM"`
	Difficulty       string   `yaml:"difficulty"`
	MinCertification string   `yaml:"minCertification"`
	BestSeason       string   `yaml:"bestSeason"`
	BestMonths       []int    `yaml:"bestMonths"`
	MarineLife       []string `yaml:"marineLife"`
	Operators        []string `yaml:"operators"`

	OpenMonths   []int               `yaml:"openMonths"`
	RoughMonths  []int               `yaml:"roughMonths"`
	Closures     []models.Closure    `yaml:"closures"`
	Requirements requirementsYAML    `yaml:"requirements"`
	Sightings    []models.Sighting   `yaml:"sightings"`
	Safety       []models.SafetyNote `yaml:"safety"`
	Sources      []models.Source     `yaml:"sources"`
}

// requirementsYAML is models.Requirements as site files spell it.
type requirementsYAML struct {
	Specialties   []models.Specialty `yaml:"specialties"`
	GuideRequired bool               `yaml:"guideRequired"`
	DaylightOnly  bool               `yaml:"daylightOnly"`
	MinAge        int                `yaml:"minAge"`
	Permit        *models.Permit     `yaml:"permit"`
}

var (
	slugPattern   = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	yamlLine      = regexp.MustCompile(`line (\d+)`)
	chineseMarker = "<!-- zh -->"
)

// ParseDocument parses one file. Errors name the file and line.
func ParseDocument(name string, raw []byte) (Document, error) {
	fail := func(line int, format string, args ...any) (Document, error) {
		return Document{}, &ParseError{File: name, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	text := strings.ReplaceAll(string(raw), "\r\n", "\n")
	if !strings.HasPrefix(text, "---\n") {
		return fail(1, "missing front matter: the file must start with a line holding only ---")
	}
	end := strings.Index(text[4:], "\n---\n")
	if end < 0 {
		return fail(1, "front matter is not closed by a line holding only ---")
	}
	head := text[4 : 4+end+1]
	body := text[4+end+5:]
	bodyLine := strings.Count(text[:4+end+5], "\n") + 1

	var fm frontMatter
	dec := yaml.NewDecoder(bytes.NewReader([]byte(head)))
	dec.KnownFields(true)
	if err := dec.Decode(&fm); err != nil {
		line := 1
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			fmt.Sscanf(m[1], "%d", &line)
			line++ // the opening --- is line 1
		}
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		msg = strings.TrimPrefix(msg, "unmarshal errors:\n")
		msg = yamlLine.ReplaceAllString(msg, "")
		msg = strings.TrimLeft(msg, " :")
		msg = strings.Replace(msg, " in type knowledge.frontMatter", "", 1)
		return fail(line, "front matter: %s", msg)
	}
	keyLine := func(key string) int {
		for i, l := range strings.Split(head, "\n") {
			if strings.HasPrefix(l, key+":") {
				return i + 2
			}
		}
		return 1
	}
	problem := func(key, msg string) (Document, error) { return fail(keyLine(key), "%s: %s", key, msg) }
	switch {
	case !slugPattern.MatchString(fm.Slug):
		return problem("slug", "required, lower-case words joined by hyphens")
	case strings.TrimSpace(fm.NameEn) == "":
		return problem("nameEn", "required")
	case strings.TrimSpace(fm.NameZh) == "":
		return problem("nameZh", "required")
	case strings.TrimSpace(fm.Region) == "":
		return problem("region", "required")
	case strings.TrimSpace(fm.State) == "":
		return problem("state", "required")
	case fm.Latitude == nil || *fm.Latitude < -90 || *fm.Latitude > 90:
		return problem("latitude", "required, between -90 and 90")
	case fm.Longitude == nil || *fm.Longitude < -180 || *fm.Longitude > 180:
		return problem("longitude", "required, between -180 and 180")
	case fm.MinDepthM == nil || *fm.MinDepthM < 0:
		return problem("minDepthM", "required, at least 0")
	case fm.MaxDepthM == nil || *fm.MaxDepthM < *fm.MinDepthM || *fm.MaxDepthM > 200:
		return problem("maxDepthM", "required, between minDepthM and 200")
	case !slices.Contains(models.Difficulties, fm.Difficulty):
		return problem("difficulty", "must be one of "+strings.Join(models.Difficulties, ", "))
	case !slices.Contains(models.CertificationLevels, fm.MinCertification):
		return problem("minCertification", "must be one of "+strings.Join(models.CertificationLevels, ", "))
	}
	for key, months := range map[string][]int{"bestMonths": fm.BestMonths, "openMonths": fm.OpenMonths, "roughMonths": fm.RoughMonths} {
		if !validMonths(months) {
			return problem(key, "months are 1 to 12")
		}
	}
	if fm.OpenMonths != nil {
		for _, m := range fm.BestMonths {
			if !slices.Contains(fm.OpenMonths, m) {
				return problem("bestMonths", fmt.Sprintf("month %d is not in openMonths: a site is at its best only when it is open", m))
			}
		}
	}
	if key, msg := checkFacts(&fm); msg != "" {
		return problem(key, msg)
	}
	english, chinese, _ := strings.Cut(body, "\n"+chineseMarker+"\n")
	english, chinese = stripTitle(english), stripTitle(chinese)
	if english == "" {
		return fail(bodyLine, "the English body is empty")
	}
	// Sightings carry the animal's Chinese name, so a Chinese answer never
	// falls back to English; a name the vocabulary lacks stays empty, which
	// the catalogue's tests refuse.
	if vocab, err := data.LoadVocabulary(); err == nil {
		for i := range fm.Sightings {
			fm.Sightings[i].AnimalZh, _ = vocab.ZhName(fm.Sightings[i].Animal)
		}
	}
	sum := sha256.Sum256(raw)
	return Document{
		Site: models.DiveSite{
			ID: models.SiteID(fm.Slug), Slug: fm.Slug, NameEn: fm.NameEn, NameZh: fm.NameZh,
			DescriptionEn: english, DescriptionZh: chinese, Region: fm.Region, State: fm.State,
			Latitude: *fm.Latitude, Longitude: *fm.Longitude, MinDepthM: *fm.MinDepthM, MaxDepthM: *fm.MaxDepthM,
			Difficulty: fm.Difficulty, MinCertification: fm.MinCertification, BestSeason: fm.BestSeason,
			BestMonths: nonNil(fm.BestMonths), MarineLife: nonNil(fm.MarineLife),
			Facts: models.SiteFacts{
				OpenMonths: nonNil(fm.OpenMonths), RoughMonths: nonNil(fm.RoughMonths),
				Closures: nonNil(fm.Closures), Sightings: nonNil(fm.Sightings), Safety: nonNil(fm.Safety),
				Sources: nonNil(fm.Sources),
				Requirements: models.Requirements{
					Specialties: nonNil(fm.Requirements.Specialties), GuideRequired: fm.Requirements.GuideRequired,
					DaylightOnly: fm.Requirements.DaylightOnly, MinAge: fm.Requirements.MinAge, Permit: fm.Requirements.Permit,
				},
			},
		},
		OperatorSlugs: fm.Operators,
		English:       english,
		Chinese:       chinese,
		Hash:          hex.EncodeToString(sum[:]),
	}, nil
}

func validMonths(months []int) bool {
	for _, m := range months {
		if m < 1 || m > 12 {
			return false
		}
	}
	return true
}

// checkFacts returns the key and problem of the first invalid fact, or "".
func checkFacts(fm *frontMatter) (string, string) {
	sources := map[string]bool{}
	for i, src := range fm.Sources {
		switch {
		case !strings.HasPrefix(src.URL, "https://") && !strings.HasPrefix(src.URL, "http://"):
			return "sources", fmt.Sprintf("source %d: url must be an http(s) URL", i+1)
		case strings.TrimSpace(src.Title) == "" || strings.TrimSpace(src.Publisher) == "":
			return "sources", fmt.Sprintf("source %d: title and publisher are required", i+1)
		case !isDate(src.Accessed):
			return "sources", fmt.Sprintf("source %d: accessed must be a date, YYYY-MM-DD", i+1)
		case src.Published != "" && !isDate(src.Published) && !isYearMonth(src.Published):
			return "sources", fmt.Sprintf("source %d: published must be YYYY-MM-DD or YYYY-MM", i+1)
		}
		sources[src.URL] = true
	}
	for i, c := range fm.Closures {
		switch {
		case len(c.Months) == 0 && (c.From == "" || c.To == ""):
			return "closures", fmt.Sprintf("closure %d: give months (every year) or from and to (dated)", i+1)
		case !validMonths(c.Months):
			return "closures", fmt.Sprintf("closure %d: months are 1 to 12", i+1)
		case c.From != "" && (!isDate(c.From) || !isDate(c.To) || c.To < c.From):
			return "closures", fmt.Sprintf("closure %d: from and to must be dates, YYYY-MM-DD, from first", i+1)
		case strings.TrimSpace(c.En) == "" || strings.TrimSpace(c.Zh) == "":
			return "closures", fmt.Sprintf("closure %d: en and zh are required", i+1)
		case !sources[c.Source]:
			return "closures", fmt.Sprintf("closure %d: source must be one of the site's sources", i+1)
		}
	}
	for i, sg := range fm.Sightings {
		switch {
		case strings.TrimSpace(sg.Animal) == "":
			return "sightings", fmt.Sprintf("sighting %d: animal is required", i+1)
		case len(sg.Months) == 0 || !validMonths(sg.Months):
			return "sightings", fmt.Sprintf("sighting %d (%s): months are required, 1 to 12", i+1, sg.Animal)
		case !slices.Contains(sg.Likelihood.Values(), string(sg.Likelihood)):
			return "sightings", fmt.Sprintf("sighting %d (%s): likelihood must be one of %s", i+1, sg.Animal,
				strings.Join(sg.Likelihood.Values(), ", "))
		}
	}
	for _, sp := range fm.Requirements.Specialties {
		if !slices.Contains(sp.Values(), string(sp)) {
			return "requirements", fmt.Sprintf("specialty %q: must be one of %s", sp, strings.Join(sp.Values(), ", "))
		}
	}
	if fm.Requirements.MinAge < 0 {
		return "requirements", "minAge must be at least 0"
	}
	if p := fm.Requirements.Permit; p != nil && (p.Issuer == "" || p.En == "" || p.Zh == "") {
		return "requirements", "permit: issuer, en and zh are required"
	}
	for i, n := range fm.Safety {
		if strings.TrimSpace(n.En) == "" || strings.TrimSpace(n.Zh) == "" {
			return "safety", fmt.Sprintf("note %d: en and zh are required", i+1)
		}
	}
	return "", ""
}

func isDate(s string) bool {
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}

func isYearMonth(s string) bool {
	_, err := time.Parse("2006-01", s)
	return err == nil
}

// stripTitle drops a leading "# Title" line: the site's name is stored apart.
func stripTitle(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "# ") {
		if _, rest, ok := strings.Cut(s, "\n"); ok {
			return strings.TrimSpace(rest)
		}
		return ""
	}
	return s
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
