-- Dive sites, the operators that run trips to them, and the link between.
-- Enumerations are text with CHECK constraints rather than enum types, so a
-- new value is one ALTER of a constraint instead of a type migration.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;
-- +goose StatementEnd

CREATE TABLE dive_operators (
    id            uuid PRIMARY KEY,
    slug          text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    name_zh       text NOT NULL DEFAULT '',
    region        text NOT NULL CHECK (length(region) BETWEEN 1 AND 100),
    state         text NOT NULL CHECK (length(state) BETWEEN 1 AND 100),
    base_location text NOT NULL DEFAULT '',
    description   text NOT NULL DEFAULT '',
    website       text NOT NULL DEFAULT '',
    agencies      jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(agencies) = 'array'),
    languages     jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(languages) = 'array'),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dive_operators_region_idx ON dive_operators (lower(region));
CREATE INDEX dive_operators_name_idx ON dive_operators (name, id);
CREATE TRIGGER dive_operators_updated_at BEFORE UPDATE ON dive_operators
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE dive_sites (
    id                uuid PRIMARY KEY,
    slug              text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    name_en           text NOT NULL CHECK (length(name_en) BETWEEN 1 AND 200),
    name_zh           text NOT NULL CHECK (length(name_zh) BETWEEN 1 AND 200),
    description_en    text NOT NULL DEFAULT '',
    description_zh    text NOT NULL DEFAULT '',
    region            text NOT NULL CHECK (length(region) BETWEEN 1 AND 100),
    state             text NOT NULL CHECK (length(state) BETWEEN 1 AND 100),
    latitude          double precision NOT NULL CHECK (latitude BETWEEN -90 AND 90),
    longitude         double precision NOT NULL CHECK (longitude BETWEEN -180 AND 180),
    min_depth_m       integer NOT NULL CHECK (min_depth_m >= 0),
    max_depth_m       integer NOT NULL CHECK (max_depth_m BETWEEN 1 AND 200),
    difficulty        text NOT NULL CHECK (difficulty IN ('beginner', 'intermediate', 'advanced')),
    min_certification text NOT NULL CHECK (min_certification IN ('open_water', 'advanced_open_water', 'rescue_diver', 'divemaster')),
    best_season       text NOT NULL DEFAULT '',
    best_months       jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(best_months) = 'array'),
    marine_life       jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(marine_life) = 'array'),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (min_depth_m <= max_depth_m)
);
CREATE INDEX dive_sites_region_idx ON dive_sites (lower(region));
CREATE INDEX dive_sites_state_idx ON dive_sites (lower(state));
CREATE INDEX dive_sites_name_idx ON dive_sites (name_en, id);
CREATE TRIGGER dive_sites_updated_at BEFORE UPDATE ON dive_sites
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE dive_site_operators (
    site_id     uuid NOT NULL REFERENCES dive_sites (id) ON DELETE CASCADE,
    operator_id uuid NOT NULL REFERENCES dive_operators (id) ON DELETE CASCADE,
    PRIMARY KEY (site_id, operator_id)
);
CREATE INDEX dive_site_operators_operator_idx ON dive_site_operators (operator_id);

-- +goose Down
DROP TABLE dive_site_operators;
DROP TABLE dive_sites;
DROP TABLE dive_operators;
DROP FUNCTION set_updated_at();
