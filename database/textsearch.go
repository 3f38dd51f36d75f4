package database

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"unicode"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"github.com/dovvydive/backend/models"
)

// TextSearch is the lexical half of hybrid retrieval: the k best chunks for
// query among the sites f lets through, best first, from
//   - full text over the English chunks: an OR of the query's English lexemes
//     (stop words and words every dive text contains dropped), since the
//     default AND of websearch_to_tsquery finds nothing for most natural
//     questions;
//   - the Chinese chunks' Han bigrams: the share of the query's bigrams a
//     chunk holds, each weighted by how rare it is among the Chinese chunks
//     (ln(1 + N/df)), so "潜水" counts for little and "锤头" for much;
//   - the sites' names: English full text (a word weighing less the more
//     names hold it) and trigram similarity (which
//     forgives misspellings such as "sipadn"), and for Chinese, the share of
//     the query's bigrams found in the Chinese name and, weighted lower, in
//     the Chinese description. PostgreSQL has no Chinese parser, and
//     character bigrams work whatever the database's locale (pg_trgm ignores
//     CJK characters under the C locale).
//
// animals are the English names (data.Vocabulary) of the animals the query
// asks for: a site whose facts record sightings of one counts like a named
// site, by how likely the sighting is (common, seasonal, rare), so "where can
// I see hammerheads" prefers where they school over where they are rare.
//
// A site whose name the query mentions lifts its chunks in the query's
// language (Chinese when the query holds Han characters) above body-only
// matches: names weigh more than body text, and a Chinese question is
// answered from Chinese text first.
// Score is comparable within one result list only. Like Search, it may be
// answered by the read replica.
func (d *DB) TextSearch(ctx context.Context, query string, animals []string, k int, f models.SearchFilter) ([]models.SearchHit, error) {
	if k < 1 || k > 1000 {
		return nil, fmt.Errorf("text search: k is %d, want 1 to 1000", k)
	}
	if len(query) > 4000 {
		query = query[:4000] // may cut a character in two: repaired below
	}
	query = strings.ToValidUTF8(strings.ReplaceAll(query, "\x00", " "), " ")
	bigrams := hanBigrams(query)
	lang := "en"
	if len(bigrams) > 0 {
		lang = "zh"
	}
	args := pgx.NamedArgs{"query": query, "zh": append([]string{}, bigrams...), "animals": append([]string{}, animals...),
		"lang": lang, "k": k, "depth": max(40, 4*k)}
	maps.Copy(args, filterArgs(f))
	hits := make([]models.SearchHit, 0, k)
	err := d.readStalePgx(ctx, func(ctx context.Context, conn *pgx.Conn) error {
		hits = hits[:0]
		rows, err := conn.Query(ctx, textSearchSQL, args)
		if err != nil {
			return err
		}
		var h models.SearchHit
		_, err = pgx.ForEachRow(rows, []any{&h.ChunkID, &h.ChunkIndex, &h.Language, &h.Content, &h.Score, &h.SiteID,
			&h.Slug, &h.NameEn, &h.NameZh, &h.Region, &h.Difficulty}, func() error {
			hits = append(hits, h)
			return nil
		})
		return err
	})
	return hits, err
}

// siteFilterSQL is SearchFilter as one condition on dive_sites s, each part
// true when its argument is empty (see filterArgs).
const siteFilterSQL = `(@region = '' OR lower(s.region) = lower(@region))
	AND (@state = '' OR lower(s.state) = lower(@state))
	AND (@difficulty = '' OR s.difficulty = @difficulty)
	AND (cardinality(@certs::text[]) = 0 OR s.min_certification = ANY (@certs::text[]))
	AND (@max_depth::int = 0 OR s.max_depth_m <= @max_depth::int)`

// filterArgs are f's arguments for siteFilterSQL.
func filterArgs(f models.SearchFilter) pgx.NamedArgs {
	return pgx.NamedArgs{"region": f.Region, "state": f.State, "difficulty": f.Difficulty,
		"certs": append([]string{}, f.Certifications...), "max_depth": f.MaxDepthM}
}

// textSearchSQL: the @@ match uses the GIN index on content_tsv and the
// bigram overlap (&&) the GIN index on bigrams; document frequencies are
// index lookups, one per query bigram; the name scores are computed over
// dive_sites (tens of rows) directly.
//
// Lexemes are quoted into the tsquery as they are (already stemmed), rather
// than passed through to_tsquery, which would stem them a second time.
const textSearchSQL = `WITH lex AS (
	SELECT coalesce(array_agg(lexeme), '{}') AS a FROM unnest(to_tsvector('english', @query))
	 WHERE lexeme !~ '[''\\]' AND octet_length(lexeme) = length(lexeme) AND lexeme NOT IN (` + domainStopWords + `)),
q AS (
	SELECT (SELECT string_agg(quote_literal(l), ' | ') FROM unnest(lex.a) AS l)::tsquery AS ts,
	       lex.a, cardinality(lex.a) AS n
	  FROM lex),
words AS (
	SELECT DISTINCT w, (ts_lexize('english_stem', w))[1] AS lex
	  FROM regexp_split_to_table(lower(@query), '[^[:alnum:]-]+') AS w
	 WHERE length(w) >= 4 AND octet_length(w) = length(w) AND ts_lexize('english_stem', w) <> '{}'),
zh AS (SELECT DISTINCT b FROM unnest(@zh::text[]) AS b),
zw AS (
	SELECT b, ln(1 + (SELECT count(*) FROM site_chunks WHERE language = 'zh')::float8 / df) AS w
	  FROM (SELECT b, (SELECT count(*) FROM site_chunks c WHERE c.bigrams @> ARRAY[b]) AS df FROM zh) AS x
	 WHERE df > 0),
zt AS (SELECT coalesce(sum(w), 0) AS total FROM zw),
name_lex AS (SELECT s.id, tsvector_to_array(to_tsvector('english', s.name_en || ' ' || s.region)) AS a FROM dive_sites s),
name_df AS (
	SELECT x, count(*) AS df FROM name_lex, unnest(name_lex.a) AS x, q WHERE x = ANY (q.a) GROUP BY x),
site_scores AS (
	SELECT s.id,
	       greatest(
	           -- the query lexemes found in the English name and region, each weighted by how
	           -- few names hold it ("payar" names one site, "pulau" and "reef" many), as a share
	           -- of the weight of the query lexemes any name holds, times the share of the
	           -- query's lexemes that any name holds ("Semporna" alone names its 13 sites fully)
	           coalesce((SELECT sum(1.0 / d.df) FROM name_df d WHERE d.x = ANY (nl.a))::float8
	                    / nullif((SELECT sum(1.0 / df) FROM name_df), 0)
	                    * (SELECT count(*) FROM name_df)::float8 / nullif(q.n, 0), 0),
	           -- a misspelt name word; one the name holds, in any form ("reef" for "Reefs"), is a lexeme above
	           coalesce((SELECT max(sim) FROM (SELECT word_similarity(w, s.name_en) AS sim, lex FROM words) AS ws
	                      WHERE sim >= 0.6 AND sim < 1 AND NOT (ws.lex = ANY (nl.a))), 0),
	           -- share of the query bigrams in the Chinese name
	           coalesce((SELECT count(*) FILTER (WHERE strpos(s.name_zh, b) > 0)::float8 / nullif(count(*), 0) FROM zh), 0))
	       -- the rarity-weighted share of the query bigrams in the Chinese text
	       + 0.5 * coalesce((SELECT sum(w) FILTER (WHERE strpos(s.description_zh, b) > 0)::float8 / nullif(sum(w), 0) FROM zw), 0)
	       -- the asked-for animals seen at the site, by how likely
	       -- (a kind counts for its kin: "chevron barracuda" for "barracuda"); a rare one
	       -- alone does not make the site a candidate (0.5 * 0.15 is below named's 0.1)
	       + 0.5 * coalesce((SELECT max(CASE x->>'likelihood' WHEN 'common' THEN 1.0 WHEN 'seasonal' THEN 0.8 ELSE 0.15 END)
	                           FROM jsonb_array_elements(CASE jsonb_typeof(s.facts->'sightings') WHEN 'array'
	                                                     THEN s.facts->'sightings' ELSE '[]' END) AS x,
	                                unnest(@animals::text[]) AS a
	                          WHERE x->>'animal' = a OR x->>'animal' LIKE '% ' || a), 0)
	       AS score
	  FROM dive_sites s JOIN name_lex nl ON nl.id = s.id, q
	 WHERE ` + siteFilterSQL + `),
named AS (SELECT id, score FROM site_scores WHERE score >= 0.1),
fts AS (
	SELECT c.id
	  FROM site_chunks c JOIN dive_sites s ON s.id = c.site_id, q
	 WHERE c.language = 'en' AND c.content_tsv @@ q.ts AND ` + siteFilterSQL + `
	 ORDER BY ts_rank(c.content_tsv, q.ts, 32) DESC
	 LIMIT @depth),
zfts AS (
	SELECT c.id, (SELECT sum(zw.w) FROM zw WHERE zw.b = ANY (c.bigrams)) / zt.total AS rank
	  FROM site_chunks c JOIN dive_sites s ON s.id = c.site_id, zt
	 WHERE zt.total > 0 AND c.bigrams && @zh::text[] AND ` + siteFilterSQL + `
	 ORDER BY rank DESC
	 LIMIT @depth),
candidates AS (
	SELECT id FROM fts
	UNION
	SELECT id FROM zfts
	UNION
	SELECT c.id FROM site_chunks c JOIN named n ON n.id = c.site_id WHERE c.language = @lang)
SELECT c.id, c.chunk_index, c.language, c.content,
       coalesce(ts_rank(c.content_tsv, q.ts, 32), 0) + coalesce(z.rank, 0)
       + CASE WHEN c.language = @lang THEN coalesce(n.score, 0) ELSE 0 END AS score,
       s.id, s.slug, s.name_en, s.name_zh, s.region, s.difficulty
  FROM candidates x
  JOIN site_chunks c ON c.id = x.id
  JOIN dive_sites s ON s.id = c.site_id
  LEFT JOIN named n ON n.id = s.id
  LEFT JOIN zfts z ON z.id = c.id
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
