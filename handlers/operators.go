package handlers

import (
	"context"

	"github.com/google/uuid"

	"github.com/dovvydive/backend/models"
)

type diveOperatorStore interface {
	ListDiveOperators(ctx context.Context, f models.OperatorFilter) (models.OperatorPage, error)
}

// DiveOperatorHandler serves /api/v1/dive-operators.
type DiveOperatorHandler struct {
	store diveOperatorStore
}

// NewDiveOperatorHandler returns a DiveOperatorHandler over store.
func NewDiveOperatorHandler(store diveOperatorStore) *DiveOperatorHandler {
	return &DiveOperatorHandler{store: store}
}

type listDiveOperatorsInput struct {
	Region string `query:"region" maxLength:"100" doc:"Region; case-insensitive."`
	SiteID string `query:"siteId" format:"uuid" doc:"Only the operators that serve this dive site."`
	PageParams
}

type listDiveOperatorsOutput struct {
	Body ListBody[models.DiveOperator]
}

// List returns a page of operators, optionally those serving one site.
func (h *DiveOperatorHandler) List(ctx context.Context, in *listDiveOperatorsInput) (*listDiveOperatorsOutput, error) {
	f := models.OperatorFilter{Region: in.Region, Limit: in.Limit, Offset: in.Offset}
	if in.SiteID != "" {
		id, err := uuid.Parse(in.SiteID)
		if err != nil {
			return nil, invalid("siteId", "must be a UUID")
		}
		// The store reads the nil UUID as "no site filter": answering every
		// operator to a request for one site's would be wrong.
		if id == uuid.Nil {
			return nil, invalid("siteId", "must not be the nil UUID")
		}
		f.SiteID = id
	}
	page, err := h.store.ListDiveOperators(ctx, f)
	if err != nil {
		return nil, err
	}
	if page.Operators == nil {
		page.Operators = []models.DiveOperator{}
	}
	return &listDiveOperatorsOutput{Body: ListBody[models.DiveOperator]{Data: page.Operators, Page: newPage(in.Limit, in.Offset, page.Total)}}, nil
}
