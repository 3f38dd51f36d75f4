package handlers

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/dovvydive/backend/database"
	"github.com/dovvydive/backend/models"
)

type diveOperatorStore interface {
	ListDiveOperators(ctx context.Context, f database.OperatorFilter) (database.OperatorPage, error)
}

// DiveOperatorHandler serves /api/v1/dive-operators.
type DiveOperatorHandler struct {
	store diveOperatorStore
}

// NewDiveOperatorHandler returns a DiveOperatorHandler over store.
func NewDiveOperatorHandler(store diveOperatorStore) *DiveOperatorHandler {
	return &DiveOperatorHandler{store: store}
}

type operatorQuery struct {
	Region string    `form:"region" validate:"max=100"`
	SiteID uuid.UUID `form:"siteId"`
	Limit  int       `form:"limit" validate:"min=1,max=100"`
	Offset int       `form:"offset" validate:"min=0,max=100000"`
}

// List returns a page of operators, optionally those serving one site.
func (h *DiveOperatorHandler) List(c *gin.Context) {
	q := operatorQuery{Limit: 20}
	if e := bindQuery(c, &q); e != nil {
		writeError(c, e)
		return
	}
	page, err := h.store.ListDiveOperators(c.Request.Context(), database.OperatorFilter{
		Region: q.Region, SiteID: q.SiteID, Limit: q.Limit, Offset: q.Offset})
	if err != nil {
		writeStoreError(c, err)
		return
	}
	if page.Operators == nil {
		page.Operators = []models.DiveOperator{}
	}
	c.JSON(http.StatusOK, gin.H{"data": page.Operators, "page": newPage(q.Limit, q.Offset, page.Total)})
}
