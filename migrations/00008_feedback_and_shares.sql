-- Chat features (issue 18): divers' ratings of the planner's replies, and
-- links that share a conversation read-only.
--
-- Titles need no column: a generated title is written only where the title
-- is still '' (database.AddAssistantMessage), and every title a diver sets
-- is non-empty (PATCH refuses blank ones), so a diver's title is never
-- overwritten.

-- +goose Up
-- One rating per reply; PUT replaces it. The reply's row carries its
-- conversation and session, so the rating does not: it dies with the
-- message, which dies with its conversation and session.
CREATE TABLE message_feedback (
    message_id uuid PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    rating     text NOT NULL CHECK (rating IN ('up', 'down')),
    comment    text NOT NULL DEFAULT '' CHECK (length(comment) <= 1000),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- `dovvydive feedback list --rating down`: newest first per rating.
CREATE INDEX message_feedback_rating_idx ON message_feedback (rating, updated_at DESC);

-- At most one live link per conversation (a new one replaces it). Only an
-- HMAC of the token is stored (keyed by a key derived from SESSION_SECRET),
-- so the table alone cannot open a shared conversation.
CREATE TABLE conversation_shares (
    conversation_id uuid PRIMARY KEY,
    session_id      uuid NOT NULL,
    token_hash      bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created_at      timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (conversation_id, session_id) REFERENCES conversations (id, session_id) ON DELETE CASCADE
);

-- +goose Down
DROP TABLE conversation_shares;
DROP TABLE message_feedback;
