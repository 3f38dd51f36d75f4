package database

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/dovvydive/backend/models"
)

// summaryColumns read a models.DiveSiteSummary: the card and each text's
// first paragraph, computed here so the whole texts never leave the database.
const summaryColumns = `id, slug, name_en, name_zh, split_part(description_en, E'\n\n', 1) AS summary_en,
	split_part(description_zh, E'\n\n', 1) AS summary_zh, region, state, latitude, longitude, min_depth_m, max_depth_m,
	difficulty, min_certification, best_season, best_months, marine_life, created_at, updated_at`

// ListDiveSites returns dive sites matching f, ordered by English name.
func (d *DB) ListDiveSites(ctx context.Context, f models.SiteFilter) (models.SitePage, error) {
	var page models.SitePage
	err := d.readStale(ctx, func(g *gorm.DB) error {
		q := whereSites(g.Model(&models.DiveSite{}), f.Region, f.Difficulty, f.Certifications, f.MaxDepthM)
		if f.State != "" {
			q = q.Where("lower(state) = lower(?)", f.State)
		}
		if f.Name != "" {
			pattern := "%" + escapeLike(f.Name) + "%"
			q = q.Where("(name_en ILIKE ? OR name_zh ILIKE ?)", pattern, pattern)
		}
		if err := q.Session(&gorm.Session{}).Count(&page.Total).Error; err != nil {
			return err
		}
		return q.Session(&gorm.Session{}).Select(summaryColumns).Order("name_en, id").Limit(f.Limit).Offset(f.Offset).
			Find(&page.Sites).Error
	})
	if err != nil {
		return models.SitePage{}, err
	}
	return page, nil
}

// GetDiveSite returns one dive site with the operators that serve it, in one
// round trip: GORM's many2many preload took three (site, links, operators)
// and this is the API's most requested read. It is raw SQL scanned by hand
// for the same reason; the query returns one row per operator (one row with
// NULL operator columns for a site no operator serves).
func (d *DB) GetDiveSite(ctx context.Context, id uuid.UUID) (models.DiveSite, error) {
	var site models.DiveSite
	// Dive sites change only when re-seeded: a replica may serve them. Native
	// pgx rather than database/sql: its driver.Value conversions and column
	// bookkeeping were most of this read's allocations.
	err := d.readStalePgx(ctx, func(ctx context.Context, conn *pgx.Conn) error {
		site = models.DiveSite{}
		rows, err := conn.Query(ctx, siteByIDSQL, id)
		if err != nil {
			return err
		}
		defer rows.Close()
		var months, life, facts []byte
		siteCols := []any{&site.ID, &site.Slug, &site.NameEn, &site.NameZh,
			&site.DescriptionEn, &site.DescriptionZh, &site.Region, &site.State, &site.Latitude, &site.Longitude,
			&site.MinDepthM, &site.MaxDepthM, &site.Difficulty, &site.MinCertification, &site.BestSeason,
			&months, &life, &facts, &site.CreatedAt, &site.UpdatedAt}
		var (
			op                   models.DiveOperator
			opID                 *uuid.UUID
			opSlug, opName       *string
			agencies, langs      []byte
			opCreated, opUpdated *time.Time
		)
		opCols := []any{&opID, &opSlug, &opName, &op.NameZh, &op.Region, &op.State, &op.BaseLocation,
			&op.Description, &op.Website, &agencies, &langs, &opCreated, &opUpdated}
		first := append(siteCols, opCols...)
		// The site's columns repeat on every row: later rows skip them (nil targets).
		later := append(make([]any, len(siteCols)), opCols...)
		for dest := first; rows.Next(); dest = later {
			op, opID, opSlug, opName, agencies, langs, opCreated, opUpdated = models.DiveOperator{}, nil, nil, nil, nil, nil, nil, nil
			if err := rows.Scan(dest...); err != nil {
				return err
			}
			if opID == nil {
				continue
			}
			op.ID, op.Slug, op.Name, op.CreatedAt, op.UpdatedAt = *opID, deref(opSlug), deref(opName), deref(opCreated), deref(opUpdated)
			if err := errors.Join(json.Unmarshal(agencies, &op.Agencies), json.Unmarshal(langs, &op.Languages)); err != nil {
				return fmt.Errorf("decode operator %s: %w", op.Slug, err)
			}
			site.Operators = append(site.Operators, op)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if site.ID == uuid.Nil {
			return models.ErrNotFound
		}
		if err := errors.Join(json.Unmarshal(months, &site.BestMonths), json.Unmarshal(life, &site.MarineLife),
			json.Unmarshal(facts, &site.Facts)); err != nil {
			return fmt.Errorf("decode dive site %s: %w", id, err)
		}
		return nil
	})
	if err != nil {
		return models.DiveSite{}, err
	}
	return site, nil
}

// deref is *p, or the zero value for nil (a NULL column).
func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

// siteByIDSQL reads a site joined with the operators that serve it, in the
// order the API lists them. The operator columns other than id, slug, name
// and the timestamps are coalesced so they scan into plain strings.
const siteByIDSQL = `SELECT s.id, s.slug, s.name_en, s.name_zh, s.description_en, s.description_zh, s.region,
	s.state, s.latitude, s.longitude, s.min_depth_m, s.max_depth_m, s.difficulty, s.min_certification,
	s.best_season, s.best_months, s.marine_life, s.facts, s.created_at, s.updated_at,
	o.id, o.slug, o.name, COALESCE(o.name_zh, ''), COALESCE(o.region, ''), COALESCE(o.state, ''),
	COALESCE(o.base_location, ''), COALESCE(o.description, ''), COALESCE(o.website, ''),
	COALESCE(o.agencies, '[]'), COALESCE(o.languages, '[]'), o.created_at, o.updated_at
FROM dive_sites AS s
LEFT JOIN dive_site_operators AS so ON so.site_id = s.id
LEFT JOIN dive_operators AS o ON o.id = so.operator_id
WHERE s.id = $1
ORDER BY o.name, o.id`

// ListDiveOperators returns operators matching f, ordered by name.
func (d *DB) ListDiveOperators(ctx context.Context, f models.OperatorFilter) (models.OperatorPage, error) {
	var page models.OperatorPage
	err := d.readStale(ctx, func(g *gorm.DB) error {
		q := g.Model(&models.DiveOperator{})
		if f.Region != "" {
			q = q.Where("lower(region) = lower(?)", f.Region)
		}
		if f.SiteID != uuid.Nil {
			q = q.Where("id IN (SELECT operator_id FROM dive_site_operators WHERE site_id = ?)", f.SiteID)
		}
		if err := q.Session(&gorm.Session{}).Count(&page.Total).Error; err != nil {
			return err
		}
		return q.Session(&gorm.Session{}).Order("name, id").Limit(f.Limit).Offset(f.Offset).Find(&page.Operators).Error
	})
	if err != nil {
		return models.OperatorPage{}, err
	}
	return page, nil
}

// UpsertDiveData writes operators and sites by their stable ids in one
// transaction. A row whose content is already stored is left untouched (its
// updated_at too), so applying the same data twice changes nothing. Each
// site's operator links are replaced by those in site.Operators.
func (d *DB) UpsertDiveData(ctx context.Context, operators []models.DiveOperator, sites []models.DiveSite) (models.UpsertResult, error) {
	g, err := d.handle(ctx)
	if err != nil {
		return models.UpsertResult{}, err
	}
	var res models.UpsertResult
	err = g.Transaction(func(tx *gorm.DB) error {
		if len(operators) > 0 {
			r := tx.Clauses(upsertClause("dive_operators", []string{"slug", "name", "name_zh", "region", "state",
				"base_location", "description", "website", "agencies", "languages"})).Create(&operators)
			if r.Error != nil {
				return fmt.Errorf("upsert operators: %w", r.Error)
			}
			res.Operators = r.RowsAffected
		}
		for i := range sites {
			site := sites[i]
			links := site.Operators
			site.Operators = nil // links are written below, not by GORM's association upsert
			r := tx.Clauses(upsertClause("dive_sites", []string{"slug", "name_en", "name_zh", "description_en",
				"description_zh", "region", "state", "latitude", "longitude", "min_depth_m", "max_depth_m",
				"difficulty", "min_certification", "best_season", "best_months", "marine_life", "facts"})).Create(&site)
			if r.Error != nil {
				return fmt.Errorf("upsert site %s: %w", site.Slug, r.Error)
			}
			res.Sites += r.RowsAffected
			n, err := replaceLinks(tx, site.ID, links)
			if err != nil {
				return fmt.Errorf("link operators of %s: %w", site.Slug, err)
			}
			res.Links += n
		}
		return nil
	})
	if err != nil {
		return models.UpsertResult{}, classify(err)
	}
	return res, nil
}

func replaceLinks(tx *gorm.DB, siteID uuid.UUID, operators []models.DiveOperator) (int64, error) {
	ids := make([]uuid.UUID, len(operators))
	for i, op := range operators {
		ids[i] = op.ID
	}
	del := tx.Where("site_id = ?", siteID)
	if len(ids) > 0 {
		del = del.Where("operator_id NOT IN ?", ids)
	}
	r := del.Delete(&siteOperator{})
	if r.Error != nil {
		return 0, r.Error
	}
	changed := r.RowsAffected
	for _, id := range ids {
		r := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&siteOperator{SiteID: siteID, OperatorID: id})
		if r.Error != nil {
			return 0, r.Error
		}
		changed += r.RowsAffected
	}
	return changed, nil
}

type siteOperator struct {
	SiteID     uuid.UUID `gorm:"type:uuid;primaryKey"`
	OperatorID uuid.UUID `gorm:"type:uuid;primaryKey"`
}

func (siteOperator) TableName() string { return "dive_site_operators" }

// upsertClause updates cols on an id conflict, but only when one of them
// differs, so an unchanged row is not rewritten.
func upsertClause(table string, cols []string) clause.OnConflict {
	current := make([]string, len(cols))
	incoming := make([]string, len(cols))
	for i, c := range cols {
		current[i] = table + "." + c
		incoming[i] = "EXCLUDED." + c
	}
	differs := fmt.Sprintf("(%s) IS DISTINCT FROM (%s)", strings.Join(current, ", "), strings.Join(incoming, ", "))
	return clause.OnConflict{
		Columns:   []clause.Column{{Name: "id"}},
		DoUpdates: clause.AssignmentColumns(cols),
		Where:     clause.Where{Exprs: []clause.Expression{clause.Expr{SQL: differs}}},
	}
}

// whereSites narrows q, a query on dive_sites, to the sites matching the
// listing's filters. Zero values add no condition.
func whereSites(q *gorm.DB, region, difficulty string, certifications []string, maxDepthM int) *gorm.DB {
	if region != "" {
		q = q.Where("lower(region) = lower(?)", region)
	}
	if difficulty != "" {
		q = q.Where("difficulty = ?", difficulty)
	}
	if len(certifications) > 0 {
		q = q.Where("min_certification IN ?", certifications)
	}
	if maxDepthM > 0 {
		q = q.Where("max_depth_m <= ?", maxDepthM)
	}
	return q
}

// findOne loads one row into dst, or returns gorm.ErrRecordNotFound. Unlike
// Take it keeps a broken connection distinguishable from a missing row: Take
// reports both at once and only "not found" survives errors.Is.
func findOne(q *gorm.DB, dst any) error {
	r := q.Limit(1).Find(dst)
	if r.Error != nil {
		return r.Error
	}
	if r.RowsAffected == 0 {
		return gorm.ErrRecordNotFound
	}
	return nil
}

// escapeLike makes s match literally inside a LIKE pattern.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
