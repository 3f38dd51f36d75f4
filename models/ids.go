package models

import "github.com/google/uuid"

// namespace roots the name-based (v5) UUIDs of sites and operators, so the
// same slug always gets the same id, in every environment.
var namespace = uuid.MustParse("6f1c2a4e-5d3b-4c8e-9a7f-0b1d2e3f4a5b")

// SiteID is the stable id of the dive site with slug.
func SiteID(slug string) uuid.UUID { return uuid.NewSHA1(namespace, []byte("dive-site/"+slug)) }

// OperatorID is the stable id of the operator with slug.
func OperatorID(slug string) uuid.UUID { return uuid.NewSHA1(namespace, []byte("dive-operator/"+slug)) }
