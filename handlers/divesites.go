package handlers

import (
	"context"

	"github.com/google/uuid"

	"github.com/dovvydive/backend/models"
)

type diveSiteStore interface {
	ListDiveSites(ctx context.Context, f models.SiteFilter) (models.SitePage, error)
	GetDiveSite(ctx context.Context, id uuid.UUID) (models.DiveSite, error)
}

// DiveSiteHandler serves /api/v1/dive-sites.
type DiveSiteHandler struct {
	store diveSiteStore
}

// NewDiveSiteHandler returns a DiveSiteHandler over store.
func NewDiveSiteHandler(store diveSiteStore) *DiveSiteHandler {
	return &DiveSiteHandler{store: store}
}

// Page is the pagination block of a list response.
type Page struct {
	Limit      int   `json:"limit"`
	Offset     int   `json:"offset"`
	Total      int64 `json:"total"`
	NextOffset *int  `json:"nextOffset" nullable:"true" doc:"The offset of the next page; null on the last page."`
}

func newPage(limit, offset int, total int64) Page {
	p := Page{Limit: limit, Offset: offset, Total: total}
	if next := offset + limit; int64(next) < total {
		p.NextOffset = &next
	}
	return p
}

// ListBody is the body of every list: {"data": [...], "page": {...}}.
type ListBody[T any] struct {
	Data []T  `json:"data"`
	Page Page `json:"page"`
}

// DataBody is the body of every single-object answer: {"data": {...}}.
type DataBody[T any] struct {
	Data T `json:"data"`
}

// PageParams are the pagination parameters of every list.
type PageParams struct {
	Limit  int `query:"limit" default:"20" minimum:"1" maximum:"100" doc:"Page size."`
	Offset int `query:"offset" default:"0" minimum:"0" maximum:"100000" doc:"Items to skip."`
}

type listDiveSitesInput struct {
	Region        string               `query:"region" maxLength:"100" doc:"Area divers name it by (Semporna, Tioman); case-insensitive."`
	State         string               `query:"state" maxLength:"100" doc:"Malaysian state; case-insensitive."`
	Difficulty    models.Difficulty    `query:"difficulty"`
	Certification models.Certification `query:"certification" doc:"The diver's level: returns the sites that level may dive."`
	MaxDepth      int                  `query:"maxDepth" minimum:"1" maximum:"200" doc:"Metres: sites no deeper than this."`
	Q             string               `query:"q" maxLength:"100" doc:"Substring of the English or Chinese name."`
	PageParams
}

type listDiveSitesOutput struct {
	Body ListBody[models.DiveSiteSummary]
}

// List returns a filtered page of dive site summaries (no facts, no
// operators, the first paragraph of each text).
func (h *DiveSiteHandler) List(ctx context.Context, in *listDiveSitesInput) (*listDiveSitesOutput, error) {
	f := models.SiteFilter{Region: in.Region, State: in.State, Difficulty: string(in.Difficulty), Name: in.Q,
		MaxDepthM: in.MaxDepth, Limit: in.Limit, Offset: in.Offset}
	if in.Certification != "" {
		f.Certifications, _ = models.CertificationsUpTo(string(in.Certification))
	}
	page, err := h.store.ListDiveSites(ctx, f)
	if err != nil {
		return nil, err
	}
	if page.Sites == nil {
		page.Sites = []models.DiveSiteSummary{}
	}
	return &listDiveSitesOutput{Body: ListBody[models.DiveSiteSummary]{Data: page.Sites, Page: newPage(in.Limit, in.Offset, page.Total)}}, nil
}

// DiveSiteDetail is one dive site with the operators that serve it, an
// empty list included.
type DiveSiteDetail struct {
	models.DiveSite
	// The vocabularies typed as the API's enums (models.DiveSite, which the
	// planner and ingestion share, keeps them as strings); these shadow the
	// embedded fields in JSON and in the schema.
	Difficulty       models.Difficulty     `json:"difficulty"`
	MinCertification models.Certification  `json:"minCertification" doc:"The lowest certification level that may dive it."`
	Operators        []models.DiveOperator `json:"operators"`
}

type getDiveSiteInput struct {
	ID string `path:"id" format:"uuid" doc:"The site's id."`
}

type getDiveSiteOutput struct {
	Body DataBody[DiveSiteDetail]
}

// Get returns one dive site with the operators that serve it.
func (h *DiveSiteHandler) Get(ctx context.Context, in *getDiveSiteInput) (*getDiveSiteOutput, error) {
	id, err := uuid.Parse(in.ID)
	if err != nil { // huma has checked the format; this is belt and braces
		return nil, invalid("id", "must be a UUID")
	}
	site, err := h.store.GetDiveSite(ctx, id)
	if err != nil {
		return nil, err
	}
	detail := DiveSiteDetail{DiveSite: site, Difficulty: models.Difficulty(site.Difficulty),
		MinCertification: models.Certification(site.MinCertification), Operators: site.Operators}
	if detail.Operators == nil {
		detail.Operators = []models.DiveOperator{}
	}
	return &getDiveSiteOutput{Body: DataBody[DiveSiteDetail]{Data: detail}}, nil
}
