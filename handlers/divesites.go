package handlers

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/dovvydive/backend/database"
	"github.com/dovvydive/backend/models"
)

type diveSiteStore interface {
	ListDiveSites(ctx context.Context, f database.SiteFilter) (database.SitePage, error)
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

// siteQuery is the query string of GET /api/v1/dive-sites.
type siteQuery struct {
	Region        string `form:"region" validate:"max=100"`
	State         string `form:"state" validate:"max=100"`
	Difficulty    string `form:"difficulty" validate:"omitempty,oneof=beginner intermediate advanced"`
	Certification string `form:"certification" validate:"omitempty,oneof=open_water advanced_open_water rescue_diver divemaster"`
	MaxDepth      *int   `form:"maxDepth" validate:"omitempty,min=1,max=200"`
	Q             string `form:"q" validate:"max=100"`
	Limit         int    `form:"limit" validate:"min=1,max=100"`
	Offset        int    `form:"offset" validate:"min=0,max=100000"`
}

// List returns a filtered page of dive sites, without their operators.
func (h *DiveSiteHandler) List(c *gin.Context) {
	q := siteQuery{Limit: 20}
	if e := bindQuery(c, &q); e != nil {
		writeError(c, e)
		return
	}
	f := database.SiteFilter{Region: q.Region, State: q.State, Difficulty: q.Difficulty, Name: q.Q,
		Limit: q.Limit, Offset: q.Offset}
	if q.Certification != "" {
		f.Certifications, _ = models.CertificationsUpTo(q.Certification)
	}
	if q.MaxDepth != nil {
		f.MaxDepthM = *q.MaxDepth
	}
	page, err := h.store.ListDiveSites(c.Request.Context(), f)
	if err != nil {
		writeStoreError(c, err)
		return
	}
	if page.Sites == nil {
		page.Sites = []models.DiveSite{}
	}
	c.JSON(http.StatusOK, gin.H{"data": page.Sites, "page": newPage(q.Limit, q.Offset, page.Total)})
}

// diveSiteDetail always carries "operators", an empty list included; list
// responses leave it out.
type diveSiteDetail struct {
	models.DiveSite
	Operators []models.DiveOperator `json:"operators"`
}

// Get returns one dive site with the operators that serve it.
func (h *DiveSiteHandler) Get(c *gin.Context) {
	id, e := pathUUID(c, "id")
	if e != nil {
		writeError(c, e)
		return
	}
	site, err := h.store.GetDiveSite(c.Request.Context(), id)
	if err != nil {
		writeStoreError(c, err)
		return
	}
	detail := diveSiteDetail{DiveSite: site, Operators: site.Operators}
	if detail.Operators == nil {
		detail.Operators = []models.DiveOperator{}
	}
	c.JSON(http.StatusOK, gin.H{"data": detail})
}
