// Package seeds holds the development data set: real Malaysian dive sites and
// the operators that serve them. Ids are derived from slugs, so every run
// writes the same rows.
package seeds

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/dovvydive/backend/database"
	"github.com/dovvydive/backend/models"
)

//go:embed dive_sites.json
var sitesJSON []byte

//go:embed operators.json
var operatorsJSON []byte

// namespace roots the name-based (v5) UUIDs of seeded rows.
var namespace = uuid.MustParse("6f1c2a4e-5d3b-4c8e-9a7f-0b1d2e3f4a5b")

// SiteID is the stable id of the seeded site with slug.
func SiteID(slug string) uuid.UUID { return uuid.NewSHA1(namespace, []byte("dive-site/"+slug)) }

// OperatorID is the stable id of the seeded operator with slug.
func OperatorID(slug string) uuid.UUID { return uuid.NewSHA1(namespace, []byte("dive-operator/"+slug)) }

type siteRecord struct {
	models.DiveSite
	OperatorSlugs []string `json:"operators"`
}

// Data decodes the embedded data set, linking sites to operators by slug.
func Data() ([]models.DiveOperator, []models.DiveSite, error) {
	var operators []models.DiveOperator
	if err := json.Unmarshal(operatorsJSON, &operators); err != nil {
		return nil, nil, fmt.Errorf("decode operators: %w", err)
	}
	bySlug := make(map[string]models.DiveOperator, len(operators))
	for i := range operators {
		operators[i].ID = OperatorID(operators[i].Slug)
		bySlug[operators[i].Slug] = operators[i]
	}
	var records []siteRecord
	if err := json.Unmarshal(sitesJSON, &records); err != nil {
		return nil, nil, fmt.Errorf("decode dive sites: %w", err)
	}
	sites := make([]models.DiveSite, len(records))
	for i, r := range records {
		site := r.DiveSite
		site.ID = SiteID(site.Slug)
		for _, slug := range r.OperatorSlugs {
			op, ok := bySlug[slug]
			if !ok {
				return nil, nil, fmt.Errorf("dive site %s: unknown operator %q", site.Slug, slug)
			}
			site.Operators = append(site.Operators, op)
		}
		sites[i] = site
	}
	return operators, sites, nil
}

type store interface {
	UpsertDiveData(ctx context.Context, operators []models.DiveOperator, sites []models.DiveSite) (database.UpsertResult, error)
}

// Load writes the data set. Rows already stored as they are here are left
// untouched, so a second run reports zero changes.
func Load(ctx context.Context, db store) (database.UpsertResult, error) {
	operators, sites, err := Data()
	if err != nil {
		return database.UpsertResult{}, err
	}
	res, err := db.UpsertDiveData(ctx, operators, sites)
	if err != nil {
		return database.UpsertResult{}, fmt.Errorf("seed: %w", err)
	}
	return res, nil
}
