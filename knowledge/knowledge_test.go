package knowledge_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dovvydive/backend/data"
	"github.com/dovvydive/backend/database"
	"github.com/dovvydive/backend/database/dbtest"
	"github.com/dovvydive/backend/knowledge"
	"github.com/dovvydive/backend/knowledge/embedding"
	"github.com/dovvydive/backend/models"
	"github.com/dovvydive/backend/seeds"
)

const goodDoc = `---
slug: test-reef
nameEn: Test Reef
nameZh: 测试礁
region: Tioman
state: Pahang
latitude: 2.8
longitude: 104.1
minDepthM: 5
maxDepthM: 20
difficulty: beginner
minCertification: open_water
operators: ["bj-diving-centre-tioman"]
---

# Test Reef

A gentle slope of hard coral where turtles feed.

Currents are mild and visibility is good.

<!-- zh -->

# 测试礁

平缓的珊瑚坡。
`

func TestParseDocument_ReadsFrontMatterAndBothBodies(t *testing.T) {
	doc, err := knowledge.ParseDocument("test-reef.md", []byte(goodDoc))
	require.NoError(t, err)
	assert.Equal(t, "test-reef", doc.Site.Slug)
	assert.Equal(t, 20, doc.Site.MaxDepthM)
	assert.Equal(t, []string{"bj-diving-centre-tioman"}, doc.OperatorSlugs)
	assert.True(t, strings.HasPrefix(doc.English, "A gentle slope"), "title line dropped")
	assert.NotContains(t, doc.English, "平缓")
	assert.Equal(t, "平缓的珊瑚坡。", doc.Chinese)
	assert.Len(t, doc.Hash, 64)
}

const factsKeys = `openMonths: [3, 4, 5, 6, 7, 8]
bestMonths: [3, 4, 5]
roughMonths: [8]
closures:
  - months: [12]
    en: "Closed every December."
    zh: "每年十二月关闭。"
    source: "https://example.org/park"
  - from: "2023-11-01"
    to: "2023-11-30"
    en: "Closed in November 2023."
    zh: "2023年11月关闭。"
    source: "https://example.org/park"
requirements:
  specialties: [cavern]
  guideRequired: true
  minAge: 12
  permit:
    issuer: "Test Parks"
    issuerZh: "测试公园"
    en: "A daily permit."
    zh: "每日许可证。"
sightings:
  - animal: "scalloped hammerhead"
    months: [3, 4, 5]
    likelihood: seasonal
    en: "schools at dawn"
    zh: "清晨成群"
safety:
  - area: "ESSZone"
    en: "Sea curfew from 6 pm."
    zh: "傍晚六时起海上宵禁。"
sources:
  - url: "https://example.org/park"
    title: "Park rules"
    publisher: "Test Parks"
    published: "2022-09"
    accessed: "2026-12-02"
`

func TestParseDocument_ReadsTheSiteFacts(t *testing.T) {
	doc, err := knowledge.ParseDocument("test-reef.md", []byte(strings.Replace(goodDoc, "operators:", factsKeys+"operators:", 1)))
	require.NoError(t, err)
	f := doc.Site.Facts // the Chinese animal name comes from data/vocabulary.yaml
	assert.Equal(t, []int{3, 4, 5, 6, 7, 8}, f.OpenMonths)
	assert.Equal(t, []int{8}, f.RoughMonths)
	require.Len(t, f.Closures, 2)
	assert.Equal(t, []int{12}, f.Closures[0].Months)
	assert.Equal(t, "2023-11-30", f.Closures[1].To)
	assert.Equal(t, []models.Specialty{models.SpecialtyCavern}, f.Requirements.Specialties)
	assert.True(t, f.Requirements.GuideRequired)
	assert.Equal(t, 12, f.Requirements.MinAge)
	require.NotNil(t, f.Requirements.Permit)
	assert.Equal(t, "测试公园", f.Requirements.Permit.IssuerZh)
	require.Len(t, f.Sightings, 1)
	assert.Equal(t, models.Sighting{Animal: "scalloped hammerhead", AnimalZh: "路氏双髻鲨", Months: []int{3, 4, 5},
		Likelihood: models.LikelihoodSeasonal, En: "schools at dawn", Zh: "清晨成群"}, f.Sightings[0])
	assert.Equal(t, "ESSZone", f.Safety[0].Area)
	assert.Equal(t, "Test Parks", f.Sources[0].Publisher)
}

func TestParseDocument_RefusesFactsThatContradictThemselves(t *testing.T) {
	withFacts := strings.Replace(goodDoc, "operators:", factsKeys+"operators:", 1)
	cases := []struct{ name, old, new, want string }{
		{"best month while closed", "bestMonths: [3, 4, 5]", "bestMonths: [2, 3]", "bestMonths: month 2 is not in openMonths"},
		{"month 13", "roughMonths: [8]", "roughMonths: [13]", "roughMonths: months are 1 to 12"},
		{"unknown likelihood", "likelihood: seasonal", "likelihood: sometimes", "likelihood must be one of common, seasonal, rare"},
		{"sighting without months", "    months: [3, 4, 5]\n    likelihood", "    likelihood", "months are required"},
		{"unknown specialty", "specialties: [cavern]", "specialties: [ice]", `specialty "ice"`},
		{"closure without a listed source", `source: "https://example.org/park"` + "\n  - from", `source: "https://example.org/other"` + "\n  - from", "closure 1: source must be one of the site's sources"},
		{"dated closure backwards", `to: "2023-11-30"`, `to: "2023-10-30"`, "closure 2: from and to must be dates"},
		{"source without a date read", `accessed: "2026-12-02"`, `accessed: "recently"`, "accessed must be a date"},
		{"source that is not a URL", `url: "https://example.org/park"`, `url: "example.org/park"`, "url must be an http(s) URL"},
		{"safety note only in English", `zh: "傍晚六时起海上宵禁。"`, `zh: ""`, "safety: note 1: en and zh are required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := strings.Replace(withFacts, tc.old, tc.new, 1)
			require.NotEqual(t, withFacts, doc, "the case must change the document")
			_, err := knowledge.ParseDocument("bad.md", []byte(doc))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestParseDocument_ReportsFileAndLine(t *testing.T) {
	cases := []struct{ name, doc, want string }{
		{"no front matter", "# Just a title\n", "bad.md:1: missing front matter"},
		{"unclosed front matter", "---\nslug: x\n", "bad.md:1: front matter is not closed"},
		{"bad yaml", strings.Replace(goodDoc, "maxDepthM: 20", "maxDepthM: [20", 1), "bad.md:"},
		{"unknown key", strings.Replace(goodDoc, "state: Pahang", "state: Pahang\ncolour: blue", 1), "bad.md:7: front matter: field colour not found"},
		{"bad difficulty", strings.Replace(goodDoc, "difficulty: beginner", "difficulty: extreme", 1), "bad.md:11: difficulty: must be one of"},
		{"depths reversed", strings.Replace(goodDoc, "maxDepthM: 20", "maxDepthM: 2", 1), "bad.md:10: maxDepthM"},
		{"missing name", strings.Replace(goodDoc, "nameEn: Test Reef\n", "", 1), "nameEn: required"},
		{"empty body", strings.Split(goodDoc, "# Test Reef")[0], "the English body is empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := knowledge.ParseDocument("bad.md", []byte(tc.doc))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestSplit_KeepsChunksUnderTheLimitWithOverlap(t *testing.T) {
	var paras []string
	for p := range 12 {
		var sentences []string
		for s := range 6 {
			sentences = append(sentences, strings.Repeat("word ", 12)+"paragraph "+string(rune('A'+p))+" sentence "+string(rune('a'+s))+".")
		}
		paras = append(paras, strings.Join(sentences, " "))
	}
	text := strings.Join(paras, "\n\n")
	chunks := knowledge.Split(text, 200, 40)
	require.Greater(t, len(chunks), 3)
	for i, c := range chunks {
		assert.Equal(t, i, c.Index)
		assert.LessOrEqual(t, c.Tokens, 200)
		assert.Equal(t, knowledge.CountTokens(c.Text), c.Tokens)
		if i > 0 {
			prevLast := chunks[i-1].Text[strings.LastIndex(strings.TrimSuffix(chunks[i-1].Text, "."), ".")+1:]
			assert.Contains(t, c.Text, strings.TrimSpace(prevLast), "chunk %d starts with the end of chunk %d", i, i-1)
		}
	}
	assert.Contains(t, chunks[len(chunks)-1].Text, "paragraph L sentence f.", "nothing lost at the end")
	assert.Len(t, knowledge.Split("One short paragraph.", 500, 50), 1)
}

func openDB(t *testing.T) *database.DB {
	t.Helper()
	db, err := database.Open(context.Background(), dbtest.Config(dbtest.Migrated(t)), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	operators, err := seeds.Operators()
	require.NoError(t, err)
	_, err = db.UpsertDiveData(context.Background(), operators, nil)
	require.NoError(t, err)
	return db
}

func writeDocs(t *testing.T, docs map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range docs {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600))
	}
	return dir
}

func chunkCount(t *testing.T, db *database.DB, slug string) int {
	t.Helper()
	var n int
	require.NoError(t, db.SQL().QueryRow(`SELECT count(*) FROM site_chunks c JOIN dive_sites s ON s.id = c.site_id WHERE s.slug = $1`, slug).Scan(&n))
	return n
}

func TestSplit_KeepsSentenceBoundariesInBothLanguagesOnEverySite(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "data", "sites", "*.md"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	glued := regexp.MustCompile(`\p{Ll}[.!?]\p{Lu}`) // "May.Visibility"
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		doc, err := knowledge.ParseDocument(filepath.Base(f), raw)
		require.NoError(t, err)
		// Small chunks, so that many sentence boundaries are cut or joined.
		for _, c := range knowledge.Split(doc.English, 60, 15) {
			assert.NotRegexp(t, glued, c.Text, "%s: English sentences run together", filepath.Base(f))
		}
		zh := knowledge.Split(doc.Chinese, 60, 15)
		assert.Greater(t, len(zh), 1, "%s: a long Chinese text is split at its sentences", filepath.Base(f))
		for _, c := range zh {
			assert.NotContains(t, c.Text, "。 ", "%s: no space after a Chinese full stop", filepath.Base(f))
			if c.Tokens > 60 { // only a sentence longer than the limit on its own, never cut inside
				body := strings.TrimRight(c.Text, "。！？”）")
				assert.NotRegexp(t, `[。！？]`, body[strings.LastIndex(body, "\n")+1:], "%s: an oversized chunk is one sentence", filepath.Base(f))
			}
		}
	}
}

func TestIngest_LoadsGoodFilesSkipsMalformedOnesAndThenUnchangedOnes(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	other := strings.NewReplacer("test-reef", "other-reef", "Test Reef", "Other Reef").Replace(goodDoc)
	dir := writeDocs(t, map[string]string{
		"test-reef.md":  goodDoc,
		"broken.md":     strings.Replace(goodDoc, "difficulty: beginner", "difficulty: extreme", 1),
		"other-reef.md": other,
		"notes.txt":     "not markdown, not read",
	})
	var progress strings.Builder
	sum, err := knowledge.Ingest(context.Background(), os.DirFS(dir), db, embedding.Hash{}, knowledge.Options{Progress: &progress})
	require.NoError(t, err)
	assert.Equal(t, 3, sum.Files)
	assert.Equal(t, 2, sum.Loaded)
	assert.Equal(t, 1, sum.Failed)
	require.Len(t, sum.Problems, 1)
	assert.Contains(t, sum.Problems[0].Error(), "broken.md:11: difficulty")
	assert.Contains(t, progress.String(), "3/3 files")
	assert.Equal(t, 2, chunkCount(t, db, "test-reef"), "one English chunk and one Chinese")

	again, err := knowledge.Ingest(context.Background(), os.DirFS(dir), db, embedding.Hash{}, knowledge.Options{})
	require.NoError(t, err)
	assert.Equal(t, 2, again.Unchanged)
	assert.Zero(t, again.Loaded)
}

func TestIngest_ChunksBothLanguagesNumberingTheChineseAfterTheEnglish(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	dir := writeDocs(t, map[string]string{"test-reef.md": goodDoc})
	_, err := knowledge.Ingest(context.Background(), os.DirFS(dir), db, embedding.Hash{}, knowledge.Options{})
	require.NoError(t, err)
	rows, err := db.SQL().Query(`SELECT c.chunk_index, c.language, c.content, cardinality(c.bigrams) FROM site_chunks c
		JOIN dive_sites s ON s.id = c.site_id WHERE s.slug = 'test-reef' ORDER BY c.chunk_index`)
	require.NoError(t, err)
	defer rows.Close()
	var langs []string
	for rows.Next() {
		var idx, bigrams int
		var lang, content string
		require.NoError(t, rows.Scan(&idx, &lang, &content, &bigrams))
		assert.Equal(t, len(langs), idx, "indexes run on across languages")
		langs = append(langs, lang)
		if lang == "zh" {
			assert.Regexp(t, `\p{Han}`, content)
			assert.Positive(t, bigrams, "a Chinese chunk carries its bigrams for text search")
		} else {
			assert.NotRegexp(t, `\p{Han}`, content)
			assert.Zero(t, bigrams)
		}
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, []string{"en", "zh"}, langs)
}

func TestIngest_AChangedFileReplacesItsChunksAndReembedRedoesAll(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	dir := writeDocs(t, map[string]string{"test-reef.md": goodDoc})
	_, err := knowledge.Ingest(context.Background(), os.DirFS(dir), db, embedding.Hash{}, knowledge.Options{})
	require.NoError(t, err)

	longer := strings.Replace(goodDoc, "Currents are mild and visibility is good.",
		strings.Repeat("Currents are mild and visibility is good on most days of the season. ", 20), 1)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "test-reef.md"), []byte(longer), 0o600))
	sum, err := knowledge.Ingest(context.Background(), os.DirFS(dir), db, embedding.Hash{}, knowledge.Options{MaxTokens: 120, Overlap: 20})
	require.NoError(t, err)
	assert.Equal(t, 1, sum.Loaded)
	assert.Greater(t, chunkCount(t, db, "test-reef"), 1, "old chunk replaced by the new set")

	re, err := knowledge.Ingest(context.Background(), os.DirFS(dir), db, embedding.Hash{}, knowledge.Options{Reembed: true})
	require.NoError(t, err)
	assert.Equal(t, 1, re.Loaded)
}

func TestIngest_NeverStoresVectorsAProviderGotWrong(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	dir := writeDocs(t, map[string]string{"test-reef.md": goodDoc})
	sum, err := knowledge.Ingest(context.Background(), os.DirFS(dir), db, badEmbedder{}, knowledge.Options{})
	require.NoError(t, err)
	assert.Equal(t, 1, sum.Failed)
	assert.ErrorIs(t, sum.Problems[0], embedding.ErrInvalidVector)
	assert.Zero(t, chunkCount(t, db, "test-reef"))
}

// badEmbedder returns a NaN vector, as a broken provider might.
type badEmbedder struct{ embedding.Hash }

func (badEmbedder) Model() string { return "broken" }
func (badEmbedder) EmbedDocuments(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i := range out {
		v := make([]float32, 768)
		v[0] = float32(nan())
		out[i] = v
	}
	return out, nil
}

func nan() float64 { var z float64; return z / z }

func TestCheckEmbeddingModel_RefusesToMixModels(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	_, err := knowledge.Ingest(context.Background(), data.Sites(), db, embedding.Hash{}, knowledge.Options{})
	require.NoError(t, err)
	require.NoError(t, db.CheckEmbeddingModel(context.Background(), embedding.HashModel))
	err = db.CheckEmbeddingModel(context.Background(), embedding.GeminiModel)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ingest --reembed")
}
