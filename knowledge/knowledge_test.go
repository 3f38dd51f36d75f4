package knowledge_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dovvydive/backend/data"
	"github.com/dovvydive/backend/database"
	"github.com/dovvydive/backend/database/dbtest"
	"github.com/dovvydive/backend/knowledge"
	"github.com/dovvydive/backend/knowledge/embedding"
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
	assert.Equal(t, 1, chunkCount(t, db, "test-reef"))

	again, err := knowledge.Ingest(context.Background(), os.DirFS(dir), db, embedding.Hash{}, knowledge.Options{})
	require.NoError(t, err)
	assert.Equal(t, 2, again.Unchanged)
	assert.Zero(t, again.Loaded)
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
