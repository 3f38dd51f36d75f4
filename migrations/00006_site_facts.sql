-- A site's facts beyond its card (models.SiteFacts): open, best and rough
-- months, closures, requirements, sightings with their months, safety notes
-- and sources. One jsonb document: the catalogue writes it whole on every
-- seed, and nothing queries inside it yet.

-- +goose Up
ALTER TABLE dive_sites ADD COLUMN facts jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(facts) = 'object');

-- +goose Down
ALTER TABLE dive_sites DROP COLUMN facts;
