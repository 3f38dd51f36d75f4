// Package models holds the service's data as plain structs. GORM tags map them
// to the tables the migrations create; JSON tags are the API's camelCase names.
package models

import (
	"slices"
	"time"

	"github.com/google/uuid"
)

// Difficulty levels of a dive site, easiest first.
const (
	DifficultyBeginner     = "beginner"
	DifficultyIntermediate = "intermediate"
	DifficultyAdvanced     = "advanced"
)

// Difficulties lists every difficulty, easiest first.
var Difficulties = []string{DifficultyBeginner, DifficultyIntermediate, DifficultyAdvanced}

// CertificationLevels lists recreational certification levels, lowest first.
// A site's MinCertification is the lowest level that may dive it.
var CertificationLevels = []string{"open_water", "advanced_open_water", "rescue_diver", "divemaster"}

// Difficulty is a dive site's difficulty as clients send it. Its Values are
// the one list the API schema's enum and the request validation both use.
type Difficulty string

// Values lists the valid difficulties, easiest first.
func (Difficulty) Values() []string { return Difficulties }

// Certification is a diver's certification level as clients send it.
type Certification string

// Values lists the valid certification levels, lowest first.
func (Certification) Values() []string { return CertificationLevels }

// CertificationsUpTo returns every level a diver holding level may dive with,
// and false when level is unknown.
func CertificationsUpTo(level string) ([]string, bool) {
	i := slices.Index(CertificationLevels, level)
	if i < 0 {
		return nil, false
	}
	return CertificationLevels[:i+1], true
}

// DiveSite is a named place to dive, described in English and Simplified Chinese.
type DiveSite struct {
	ID               uuid.UUID      `gorm:"type:uuid;primaryKey" json:"id"`
	Slug             string         `json:"slug"`
	NameEn           string         `gorm:"column:name_en" json:"nameEn"`
	NameZh           string         `gorm:"column:name_zh" json:"nameZh"`
	DescriptionEn    string         `gorm:"column:description_en" json:"descriptionEn"`
	DescriptionZh    string         `gorm:"column:description_zh" json:"descriptionZh"`
	Region           string         `json:"region"` // area divers name it by: Semporna, Tioman, Redang
	State            string         `json:"state"`  // Malaysian state or federal territory
	Latitude         float64        `json:"latitude"`
	Longitude        float64        `json:"longitude"`
	MinDepthM        int            `gorm:"column:min_depth_m" json:"minDepthM"`
	MaxDepthM        int            `gorm:"column:max_depth_m" json:"maxDepthM"`
	Difficulty       string         `json:"difficulty"`
	MinCertification string         `json:"minCertification"`
	BestSeason       string         `json:"bestSeason"`
	BestMonths       []int          `gorm:"serializer:json" json:"bestMonths"`
	MarineLife       []string       `gorm:"serializer:json" json:"marineLife"`
	Facts            SiteFacts      `gorm:"serializer:json" json:"facts"`
	Operators        []DiveOperator `gorm:"many2many:dive_site_operators;joinForeignKey:SiteID;joinReferences:OperatorID" json:"operators,omitempty"`
	CreatedAt        time.Time      `json:"createdAt"`
	UpdatedAt        time.Time      `json:"updatedAt"`
}

// DiveSiteSummary is a dive site as lists show it: its card, with the first
// paragraph of each text instead of the whole, and no facts or operators
// (GET /dive-sites/{id} has those). Listing whole sites sent about 460 KB
// for 42 sites once each carried its full texts and sourced facts.
type DiveSiteSummary struct {
	ID               uuid.UUID     `gorm:"type:uuid;primaryKey" json:"id"`
	Slug             string        `json:"slug"`
	NameEn           string        `gorm:"column:name_en" json:"nameEn"`
	NameZh           string        `gorm:"column:name_zh" json:"nameZh"`
	SummaryEn        string        `gorm:"column:summary_en" json:"summaryEn" doc:"The first paragraph of the English text."`
	SummaryZh        string        `gorm:"column:summary_zh" json:"summaryZh" doc:"The first paragraph of the Chinese text."`
	Region           string        `json:"region"`
	State            string        `json:"state"`
	Latitude         float64       `json:"latitude"`
	Longitude        float64       `json:"longitude"`
	MinDepthM        int           `gorm:"column:min_depth_m" json:"minDepthM"`
	MaxDepthM        int           `gorm:"column:max_depth_m" json:"maxDepthM"`
	Difficulty       Difficulty    `json:"difficulty"`
	MinCertification Certification `json:"minCertification" doc:"The lowest certification level that may dive it."`
	BestSeason       string        `json:"bestSeason"`
	BestMonths       []int         `gorm:"serializer:json" json:"bestMonths"`
	MarineLife       []string      `gorm:"serializer:json" json:"marineLife"`
	CreatedAt        time.Time     `json:"createdAt"`
	UpdatedAt        time.Time     `json:"updatedAt"`
}

// TableName is the table summaries are read from.
func (DiveSiteSummary) TableName() string { return "dive_sites" }

// DiveOperator is a dive centre or resort that runs trips to dive sites.
type DiveOperator struct {
	ID           uuid.UUID `gorm:"type:uuid;primaryKey" json:"id"`
	Slug         string    `json:"slug"`
	Name         string    `json:"name"`
	NameZh       string    `gorm:"column:name_zh" json:"nameZh"`
	Region       string    `json:"region"`
	State        string    `json:"state"`
	BaseLocation string    `json:"baseLocation"`
	Description  string    `json:"description"`
	Website      string    `json:"website"`
	Agencies     []string  `gorm:"serializer:json" json:"agencies"`  // training agencies, e.g. PADI, SSI
	Languages    []string  `gorm:"serializer:json" json:"languages"` // languages briefings are given in
	CreatedAt    time.Time `json:"createdAt"`
	UpdatedAt    time.Time `json:"updatedAt"`
}
