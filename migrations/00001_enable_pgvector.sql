-- Enables pgvector. On self-hosted PostgreSQL pgvector is not a trusted
-- extension, so creating it needs a superuser; on Neon the project owner may.
-- The checks turn the server's bare errors into ones that say what to do.

-- +goose Up
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector') THEN
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') THEN
        RAISE EXCEPTION 'pgvector is not installed on this server'
            USING HINT = 'install pgvector on the database server (for the project-managed PostgreSQL: make deps), or use a provider that ships it, such as Neon';
    END IF;
    BEGIN
        CREATE EXTENSION vector;
    EXCEPTION WHEN insufficient_privilege THEN
        RAISE EXCEPTION 'creating the vector extension needs a superuser on this server (pgvector is not a trusted extension on self-hosted PostgreSQL)'
            USING HINT = 'connect as a superuser and run CREATE EXTENSION vector; in database ' || current_database() || ', then migrate again';
    END;
END
$$;
-- +goose StatementEnd

-- +goose Down
-- The extension stays: dropping it needs its owner (a superuser here) and
-- would drop every vector column in the database with it.
SELECT 1;
