package database

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/dovvydive/backend/models"
)

// TextHit is one chunk found by TextSearch.
type TextHit struct {
	SiteID     uuid.UUID
	Slug       string
	ChunkIndex int
	Text       string
	Score      float64 // comparable within one result list only
}

// TextSearch is the lexical half of hybrid retrieval: the k best chunks for
// query, best first, from
//   - full text over the chunks: an OR of the query's English lexemes (stop
//     words and words every dive text contains dropped), since the default AND
//     of websearch_to_tsquery finds nothing for most natural questions;
//   - the sites' names: English full text and trigram similarity (which
//     forgives misspellings such as "sipadn"), and for Chinese, the share of
//     the query's character bigrams found in the Chinese name and, weighted
//     lower, in the Chinese description. PostgreSQL has no Chinese parser,
//     and character bigrams work whatever the database's locale (pg_trgm
//     ignores CJK characters under the C locale).
//
// A site whose name the query mentions lifts all its chunks above body-only
// matches: names weigh more than body text.
func (d *DB) TextSearch(ctx context.Context, query string, k int) ([]TextHit, error) {
	if k < 1 || k > 1000 {
		return nil, fmt.Errorf("text search: k is %d, want 1 to 1000", k)
	}
	if len(query) > 4000 {
		query = query[:4000] // may cut a character in two: repaired below
	}
	query = strings.ToValidUTF8(strings.ReplaceAll(query, "\x00", " "), " ")
	var hits []TextHit
	err := d.read(ctx, func(g *gorm.DB) error {
		hits = nil
		return g.Raw(textSearchSQL, map[string]any{
			"query": query, "zh": strings.Join(hanBigrams(query), " "), "k": k, "depth": max(40, 4*k),
		}).Scan(&hits).Error
	})
	return hits, err
}

// textSearchSQL: the @@ match uses the GIN index on content_tsv; the name
// scores are computed over dive_sites (tens of rows) directly.
//
// Lexemes are quoted into the tsquery as they are (already stemmed), rather
// than passed through to_tsquery, which would stem them a second time.
const textSearchSQL = `WITH lex AS (
	SELECT coalesce(array_agg(lexeme), '{}') AS a FROM unnest(to_tsvector('english', @query))
	 WHERE lexeme !~ '[''\\]' AND octet_length(lexeme) = length(lexeme) AND lexeme NOT IN (` + domainStopWords + `)),
q AS (
	SELECT (SELECT string_agg('''' || l || '''', ' | ') FROM unnest(lex.a) AS l)::tsquery AS ts,
	       lex.a, cardinality(lex.a) AS n
	  FROM lex),
words AS (
	SELECT DISTINCT w FROM regexp_split_to_table(lower(@query), '[^[:alnum:]-]+') AS w
	 WHERE length(w) >= 4 AND octet_length(w) = length(w) AND ts_lexize('english_stem', w) <> '{}'),
zh AS (SELECT DISTINCT b FROM unnest(string_to_array(@zh, ' ')) AS b),
site_scores AS (
	SELECT s.id,
	       greatest(
	           -- share of the query's lexemes in the English name and region
	           coalesce((SELECT count(*) FROM unnest(tsvector_to_array(to_tsvector('english', s.name_en || ' ' || s.region))) AS x
	                      WHERE x = ANY (q.a))::float8 / nullif(q.n, 0), 0),
	           -- a misspelt name word (an exact one is a lexeme above)
	           coalesce((SELECT max(sim) FROM (SELECT word_similarity(w, s.name_en) AS sim FROM words) AS ws
	                      WHERE sim >= 0.6 AND sim < 1), 0),
	           -- share of the query's Chinese bigrams in the Chinese name
	           coalesce((SELECT count(*) FILTER (WHERE strpos(s.name_zh, b) > 0)::float8 / nullif(count(*), 0) FROM zh), 0))
	       + 0.5 * coalesce((SELECT count(*) FILTER (WHERE strpos(s.description_zh, b) > 0)::float8 / nullif(count(*), 0) FROM zh), 0)
	       AS score
	  FROM dive_sites s, q),
named AS (SELECT id, score FROM site_scores WHERE score >= 0.1),
fts AS (
	SELECT c.id, ts_rank(c.content_tsv, q.ts, 32) AS rank
	  FROM site_chunks c, q
	 WHERE c.content_tsv @@ q.ts
	 ORDER BY rank DESC
	 LIMIT @depth),
candidates AS (
	SELECT id FROM fts
	UNION
	SELECT c.id FROM site_chunks c JOIN named n ON n.id = c.site_id)
SELECT s.id AS site_id, s.slug, c.chunk_index, c.content AS text,
       coalesce(ts_rank(c.content_tsv, q.ts, 32), 0) + coalesce(n.score, 0) AS score
  FROM candidates x
  JOIN site_chunks c ON c.id = x.id
  JOIN dive_sites s ON s.id = c.site_id
  LEFT JOIN named n ON n.id = s.id
  CROSS JOIN q
 ORDER BY score DESC, s.slug, c.chunk_index
 LIMIT @k`

// domainStopWords are stems nearly every dive text or question contains:
// with ts_rank lacking IDF, matching them would rank chunks by how often
// they say "dive".
const domainStopWords = `'dive', 'diver', 'site', 'best', 'good', 'want', 'recommend', 'place', 'trip', 'malaysia',
	'go', 'like', 'would', 'could', 'can', 'know', 'tell', 'plan', 'diving', 'dives', 'divers', 'sites'`

// hanBigrams returns the distinct pairs of adjacent Han characters in s (a
// lone character on its own), the units Chinese text is matched on.
func hanBigrams(s string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(b string) {
		if !seen[b] {
			seen[b] = true
			out = append(out, b)
		}
	}
	var run []rune
	flush := func() {
		if len(run) == 1 {
			add(string(run))
		}
		for i := 0; i+1 < len(run); i++ {
			add(string(run[i : i+2]))
		}
		run = run[:0]
	}
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			run = append(run, r)
			continue
		}
		flush()
	}
	flush()
	return out
}

// PlannerSites returns every dive site with the operators that serve them,
// for the planner's filtering and answers (tens of rows).
func (d *DB) PlannerSites(ctx context.Context) ([]models.DiveSite, error) {
	var sites []models.DiveSite
	err := d.read(ctx, func(g *gorm.DB) error {
		sites = nil
		return g.Preload("Operators", func(db *gorm.DB) *gorm.DB { return db.Order("name, id") }).
			Order("name_en, id").Find(&sites).Error
	})
	return sites, err
}
