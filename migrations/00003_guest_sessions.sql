-- Guest sessions: a diver planning a trip without an account. The id is the
-- session's identity; clients hold a token signed with SESSION_SECRET.

-- +goose Up
CREATE TABLE guest_sessions (
    id         uuid PRIMARY KEY,
    language   text NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'zh')),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    CHECK (expires_at > created_at)
);
CREATE INDEX guest_sessions_expires_at_idx ON guest_sessions (expires_at);

-- +goose Down
DROP TABLE guest_sessions;
