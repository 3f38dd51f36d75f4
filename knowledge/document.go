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

	"go.yaml.in/yaml/v3"

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
}

var (
	slugPattern   = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	yamlLine      = regexp.MustCompile(`line (\d+)`)
	chineseMarker = "<!-- zh -->"
)

// ParseDocument parses one file. Errors name the file and line.
func ParseDocument(name string, data []byte) (Document, error) {
	fail := func(line int, format string, args ...any) (Document, error) {
		return Document{}, &ParseError{File: name, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
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
	for _, m := range fm.BestMonths {
		if m < 1 || m > 12 {
			return problem("bestMonths", "months are 1 to 12")
		}
	}
	english, chinese, _ := strings.Cut(body, "\n"+chineseMarker+"\n")
	english, chinese = stripTitle(english), stripTitle(chinese)
	if english == "" {
		return fail(bodyLine, "the English body is empty")
	}
	sum := sha256.Sum256(data)
	return Document{
		Site: models.DiveSite{
			ID: models.SiteID(fm.Slug), Slug: fm.Slug, NameEn: fm.NameEn, NameZh: fm.NameZh,
			DescriptionEn: english, DescriptionZh: chinese, Region: fm.Region, State: fm.State,
			Latitude: *fm.Latitude, Longitude: *fm.Longitude, MinDepthM: *fm.MinDepthM, MaxDepthM: *fm.MaxDepthM,
			Difficulty: fm.Difficulty, MinCertification: fm.MinCertification, BestSeason: fm.BestSeason,
			BestMonths: nonNil(fm.BestMonths), MarineLife: nonNil(fm.MarineLife),
		},
		OperatorSlugs: fm.Operators,
		English:       english,
		Chinese:       chinese,
		Hash:          hex.EncodeToString(sum[:]),
	}, nil
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
