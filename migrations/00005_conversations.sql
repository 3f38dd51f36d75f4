-- The trip planner's storage: conversations and their messages, the
-- per-session message quota, Idempotency-Key records, sliding guest-session
-- expiry with an absolute cap, a per-client session-creation counter that
-- never stores an IP address, and full-text and trigram indexes for hybrid
-- retrieval.

-- +goose Up
-- pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may
-- create it without a superuser, on Neon and self-hosted alike.
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
        RAISE EXCEPTION 'pg_trgm is not installed on this server'
            USING HINT = 'install the PostgreSQL contrib modules (Debian: postgresql-contrib) on the database server';
    END IF;
    BEGIN
        CREATE EXTENSION pg_trgm;
    EXCEPTION WHEN insufficient_privilege THEN
        RAISE EXCEPTION 'creating the pg_trgm extension needs the CREATE privilege on database %', current_database()
            USING HINT = 'connect as the database owner or a superuser and run CREATE EXTENSION pg_trgm; then migrate again';
    END;
END
$$;
-- +goose StatementEnd

-- Sessions: expires_at stays the one effective expiry (the sliding one,
-- last_seen_at + TTL, never past absolute_expires_at), so lookups and the
-- purge keep using its index. Existing rows keep their expiry and get a
-- seven-day cap from creation (or their expiry, if that was later).
ALTER TABLE guest_sessions
    ADD COLUMN last_seen_at timestamptz,
    ADD COLUMN absolute_expires_at timestamptz;
UPDATE guest_sessions
   SET last_seen_at = created_at,
       absolute_expires_at = greatest(expires_at, created_at + interval '7 days');
ALTER TABLE guest_sessions
    ALTER COLUMN last_seen_at SET NOT NULL,
    ALTER COLUMN last_seen_at SET DEFAULT now(),
    ALTER COLUMN absolute_expires_at SET NOT NULL,
    ADD CHECK (expires_at <= absolute_expires_at);

-- One row per created session, keyed by a hex HMAC of the client's address
-- (computed by the application with its secret): enough to cap creations per
-- client over a rolling window, across instances, without storing the IP.
CREATE TABLE session_creations (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_key text NOT NULL CHECK (client_key ~ '^[0-9a-f]{32,128}$'),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX session_creations_client_idx ON session_creations (client_key, created_at);
CREATE INDEX session_creations_created_at_idx ON session_creations (created_at);

CREATE TABLE conversations (
    id          uuid PRIMARY KEY,
    session_id  uuid NOT NULL REFERENCES guest_sessions (id) ON DELETE CASCADE,
    title       text NOT NULL DEFAULT '' CHECK (length(title) <= 200),
    constraints jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(constraints) = 'object'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    -- the target of messages' (conversation_id, session_id) key below
    UNIQUE (id, session_id)
);
-- Newest-first listing with a keyset cursor on (updated_at, id).
CREATE INDEX conversations_session_idx ON conversations (session_id, updated_at DESC, id DESC);

-- Messages carry their session so a message can never belong to another
-- session's conversation: the composite key ties the two together.
CREATE TABLE messages (
    id              uuid PRIMARY KEY,
    conversation_id uuid NOT NULL,
    session_id      uuid NOT NULL,
    role            text NOT NULL CHECK (role IN ('user', 'assistant')),
    content         text NOT NULL CHECK (length(content) > 0),
    citations       jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(citations) = 'array'),
    sites           jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(sites) = 'array'),
    constraints     jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(constraints) = 'object'),
    model           text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (conversation_id, session_id) REFERENCES conversations (id, session_id) ON DELETE CASCADE
);
CREATE INDEX messages_conversation_idx ON messages (conversation_id, created_at, id);
CREATE INDEX messages_session_idx ON messages (session_id);

-- The quota ledger: one row per accepted user message. It is separate from
-- messages so that deleting a conversation does not give its messages back
-- to the quota; it holds no content and is pruned by the purge.
CREATE TABLE message_quota (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES guest_sessions (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL
);
CREATE INDEX message_quota_session_idx ON message_quota (session_id, created_at);
CREATE INDEX message_quota_created_at_idx ON message_quota (created_at);

-- Idempotency-Key records (draft-ietf-httpapi-idempotency-key-header), per
-- session. in_flight holds a lease: a reply generation that crashed without
-- marking itself failed can be retried once the lease has passed.
CREATE TABLE idempotency_keys (
    session_id       uuid NOT NULL REFERENCES guest_sessions (id) ON DELETE CASCADE,
    key              text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    fingerprint      text NOT NULL,
    conversation_id  uuid NOT NULL,
    state            text NOT NULL CHECK (state IN ('in_flight', 'failed', 'done')),
    user_message_id  uuid NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    reply_message_id uuid REFERENCES messages (id) ON DELETE CASCADE,
    lease_until      timestamptz NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    expires_at       timestamptz NOT NULL,
    PRIMARY KEY (session_id, key),
    FOREIGN KEY (conversation_id, session_id) REFERENCES conversations (id, session_id) ON DELETE CASCADE,
    CHECK ((state = 'done') = (reply_message_id IS NOT NULL))
);
CREATE INDEX idempotency_keys_expires_at_idx ON idempotency_keys (expires_at);
CREATE INDEX idempotency_keys_user_message_idx ON idempotency_keys (user_message_id);
CREATE INDEX idempotency_keys_reply_message_idx ON idempotency_keys (reply_message_id);
CREATE INDEX idempotency_keys_conversation_idx ON idempotency_keys (conversation_id, session_id);

-- Full text over the chunks (English stemming). PostgreSQL has no Chinese
-- parser, so Chinese is matched on the sites' Chinese text instead.
ALTER TABLE site_chunks
    ADD COLUMN content_tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', content)) STORED;
CREATE INDEX site_chunks_content_tsv_idx ON site_chunks USING gin (content_tsv);

-- Trigram indexes serve misspelt names (similarity, word_similarity) and the
-- substring (ILIKE) name filter of the site listing.
CREATE INDEX dive_sites_name_en_trgm_idx ON dive_sites USING gin (name_en gin_trgm_ops);
CREATE INDEX dive_sites_name_zh_trgm_idx ON dive_sites USING gin (name_zh gin_trgm_ops);

-- +goose Down
DROP INDEX dive_sites_name_zh_trgm_idx;
DROP INDEX dive_sites_name_en_trgm_idx;
ALTER TABLE site_chunks DROP COLUMN content_tsv;
DROP TABLE idempotency_keys;
DROP TABLE message_quota;
DROP TABLE messages;
DROP TABLE conversations;
DROP TABLE session_creations;
ALTER TABLE guest_sessions
    DROP COLUMN absolute_expires_at,
    DROP COLUMN last_seen_at;
-- pg_trgm stays, like vector in 00001: other objects may have come to use it.
