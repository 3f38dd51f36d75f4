-- Retrieval knowledge: each dive site's English text split into chunks, one
-- embedding per chunk, searched by cosine distance through an HNSW index.
--
-- HNSW parameters: m = 16 and ef_construction = 64 (pgvector's defaults).
-- On structured 768-dimensional data they give recall@10 >= 0.95 at
-- hnsw.ef_search = 100 (see the README's benchmark), and a build that fits in
-- memory for the corpus sizes we expect; raising them buys little recall for
-- a much slower build.

-- +goose Up
CREATE TABLE site_documents (
    site_id      uuid PRIMARY KEY REFERENCES dive_sites (id) ON DELETE CASCADE,
    content_hash text NOT NULL,
    model        text NOT NULL,
    chunk_count  integer NOT NULL CHECK (chunk_count >= 0),
    ingested_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE site_chunks (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    site_id      uuid NOT NULL REFERENCES dive_sites (id) ON DELETE CASCADE,
    chunk_index  integer NOT NULL CHECK (chunk_index >= 0),
    content      text NOT NULL CHECK (length(content) > 0),
    token_count  integer NOT NULL CHECK (token_count > 0),
    content_hash text NOT NULL,
    model        text NOT NULL,
    embedding    vector(768) NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (site_id, chunk_index)
);

-- Give the build session room so the graph fits in memory (it is built over
-- the direct connection; SET LOCAL keeps it to this transaction).
SET LOCAL maintenance_work_mem = '256MB';
CREATE INDEX site_chunks_embedding_idx ON site_chunks
    USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64);

-- +goose Down
DROP TABLE site_chunks;
DROP TABLE site_documents;
