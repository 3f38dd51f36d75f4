package models

import "github.com/google/uuid"

// SiteFilter narrows a dive-site listing. Zero values mean "no filter".
type SiteFilter struct {
	Region         string   // case-insensitive exact match
	State          string   // case-insensitive exact match
	Difficulty     string   // one of Difficulties
	Certifications []string // sites whose minimum certification is one of these
	MaxDepthM      int      // sites no deeper than this
	Name           string   // substring of the English or Chinese name
	Limit          int
	Offset         int
}

// SitePage is one page of dive sites and the total matching the filter.
type SitePage struct {
	Sites []DiveSiteSummary
	Total int64
}

// OperatorFilter narrows an operator listing. Zero values mean "no filter".
type OperatorFilter struct {
	Region string
	SiteID uuid.UUID // operators serving this site
	Limit  int
	Offset int
}

// OperatorPage is one page of operators and the total matching the filter.
type OperatorPage struct {
	Operators []DiveOperator
	Total     int64
}

// SearchFilter narrows a knowledge search by site. Zero values mean "no filter".
type SearchFilter struct {
	Region         string
	State          string
	Difficulty     string
	Certifications []string
	MaxDepthM      int
}

// SearchHit is one retrieved chunk with its site.
type SearchHit struct {
	ChunkID    int64   `json:"-"`
	ChunkIndex int     `json:"index"`
	Language   string  `json:"language"` // of the chunk: "en" or "zh"
	Content    string  `json:"text"`
	Score      float64 `json:"score"` // Search: 1 - cosine distance; TextSearch: comparable within one list
	SiteID     uuid.UUID
	Slug       string
	NameEn     string
	NameZh     string
	Region     string
	Difficulty string
}
