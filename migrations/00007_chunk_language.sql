-- Chunks in both languages: each site's Chinese text is chunked and embedded
-- like its English one. chunk_index stays unique per site (English chunks
-- first, then Chinese), so a passage is still named by (site, chunk_index).
--
-- PostgreSQL has no Chinese parser and pg_trgm ignores Han characters under
-- the C locale, so Chinese chunks are matched on their distinct pairs of
-- adjacent Han characters, computed when the chunk is written and indexed
-- with GIN (array overlap and containment). English chunks keep content_tsv.

-- +goose Up
ALTER TABLE site_chunks
    ADD COLUMN language text NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'zh')),
    ADD COLUMN bigrams text[] NOT NULL DEFAULT '{}';
CREATE INDEX site_chunks_bigrams_idx ON site_chunks USING gin (bigrams);

-- Documents stored before this migration have English chunks only: forget
-- their hashes so the next ingest writes both languages.
UPDATE site_documents SET content_hash = '';

-- +goose Down
DROP INDEX site_chunks_bigrams_idx;
DELETE FROM site_chunks WHERE language = 'zh';
ALTER TABLE site_chunks DROP COLUMN bigrams, DROP COLUMN language;
