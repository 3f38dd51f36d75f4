package models

// The ingestion pipeline's storage types: knowledge writes them, database
// stores them.

// UpsertResult counts the rows an upsert inserted or changed.
type UpsertResult struct {
	Operators, Sites, Links int64
}

// ChunkRow is one chunk to store.
type ChunkRow struct {
	Index       int    // unique within the site, across both languages
	Language    string // "en" (the default when empty) or "zh"
	Content     string
	TokenCount  int
	ContentHash string
	Embedding   []float32
}

// DocumentState is what is stored for a site's source document.
type DocumentState struct {
	Found       bool
	ContentHash string
	Model       string
}
