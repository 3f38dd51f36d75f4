package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"
)

// searchBody decodes and validates the body of POST /api/v1/search, whose
// operation skips huma's own body validation. huma validates a body by
// decoding it into an interface tree, checking that against the schema, then
// decoding it again into the struct: for a 768-number vector that was half
// the CPU of a search request (two decodes, two strict scans, 768 boxed
// floats and a schema walk over each). Here the body is decoded once, into
// the struct, and checked against limits read from the same schema.
//
// The fast path only vouches for a body it can prove valid; for any other it
// runs huma's own sequence (full), so a client sees exactly the error huma
// would have given. FuzzSearchBody holds the two paths to that.
type searchBody struct {
	registry huma.Registry
	schema   *huma.Schema // SearchRequest's, as registered

	// Limits, read from the schema so that the struct tags stay the one source.
	keys        map[string]bool // allowed keys at the top level
	filterKeys  map[string]bool // and inside "filters"
	queryMax    int
	vectorItems int
	kMin, kMax  int
	scoreMin    float64
	scoreMax    float64
	regionMax   int
	stateMax    int
	difficulty  []any
	certs       []any
	depthMin    int
	depthMax    int
}

// setRaw receives the body from decodeJSON (see rawBody).
func (r *SearchRequest) setRaw(data []byte) { r.raw = data }

// newSearchBody reads the registered operation's body schema. It refuses a
// schema with a constraint vouch does not check, so that a tag added to
// SearchRequest cannot slip past the fast path unnoticed.
func newSearchBody(api huma.API, path string) (*searchBody, error) {
	item := api.OpenAPI().Paths[path]
	if item == nil || item.Post == nil || item.Post.RequestBody == nil || item.Post.RequestBody.Content["application/json"] == nil {
		return nil, fmt.Errorf("search body: no POST %s with a JSON body", path)
	}
	reg := api.OpenAPI().Components.Schemas
	b := &searchBody{registry: reg, schema: item.Post.RequestBody.Content["application/json"].Schema}
	top := b.schema
	if top != nil && top.Ref != "" {
		top = reg.SchemaFromRef(top.Ref)
	}
	if top == nil || top.Properties["filters"] == nil {
		return nil, errors.New("search body: schema not found")
	}
	filters := reg.SchemaFromRef(top.Properties["filters"].Ref)
	if filters == nil {
		return nil, errors.New("search body: filters schema not found")
	}
	p, f := top.Properties, maps.Clone(filters.Properties)
	// The enums are named schemas (enumSchema): check what they refer to.
	for _, k := range []string{"difficulty", "certification"} {
		if s := f[k]; s != nil && s.Ref != "" {
			f[k] = reg.SchemaFromRef(s.Ref)
		}
	}
	for _, c := range []struct {
		name    string
		s       *huma.Schema
		allowed []string
	}{
		{"body", top, []string{"oneOf"}}, {"filters", filters, nil},
		{"query", p["query"], []string{"maxLength", "pattern"}},
		{"embedding", p["embedding"], []string{"minItems", "maxItems"}},
		{"k", p["k"], []string{"minimum", "maximum"}},
		{"minScore", p["minScore"], []string{"minimum", "maximum"}},
		{"filters.region", f["region"], []string{"maxLength"}},
		{"filters.state", f["state"], []string{"maxLength"}},
		{"filters.difficulty", f["difficulty"], []string{"enum"}},
		{"filters.certification", f["certification"], []string{"enum"}},
		{"filters.maxDepth", f["maxDepth"], []string{"minimum", "maximum"}},
	} {
		if err := onlyChecks(c.name, c.s, c.allowed...); err != nil {
			return nil, err
		}
	}
	if len(p) != 5 || len(f) != 5 || top.AdditionalProperties != false || filters.AdditionalProperties != false {
		return nil, errors.New("search body: the schema's properties are not the ones vouch knows")
	}
	if p["query"].Pattern != notOnlySpace {
		return nil, errors.New("search body: query's pattern is not the one vouch checks (notOnlySpace)")
	}
	if len(top.OneOf) != 2 || !slices.Equal(top.OneOf[0].Required, []string{"query"}) ||
		!slices.Equal(top.OneOf[1].Required, []string{"embedding"}) {
		return nil, errors.New("search body: oneOf is not the one vouch checks (query or embedding)")
	}
	if err := onlyChecks("embedding items", p["embedding"].Items); err != nil {
		return nil, err
	}
	if *p["embedding"].MinItems != *p["embedding"].MaxItems {
		return nil, errors.New("search body: the vector's length is not fixed")
	}
	b.keys, b.filterKeys = map[string]bool{}, map[string]bool{}
	for k := range p {
		b.keys[k] = true
	}
	for k := range f {
		b.filterKeys[k] = true
	}
	b.queryMax = *p["query"].MaxLength
	b.vectorItems = *p["embedding"].MinItems
	b.kMin, b.kMax = int(*p["k"].Minimum), int(*p["k"].Maximum)
	b.scoreMin, b.scoreMax = *p["minScore"].Minimum, *p["minScore"].Maximum
	b.regionMax, b.stateMax = *f["region"].MaxLength, *f["state"].MaxLength
	b.difficulty, b.certs = f["difficulty"].Enum, f["certification"].Enum
	b.depthMin, b.depthMax = int(*f["maxDepth"].Minimum), int(*f["maxDepth"].Maximum)
	return b, nil
}

// numericFormat are the formats huma gives Go's int64 and float64: they
// describe the JSON number and constrain nothing json.Unmarshal does not.
var numericFormat = map[string]bool{"int64": true, "double": true}

// onlyChecks returns an error unless s exists and every validation keyword
// it carries is one of allowed (each of which must then be set).
func onlyChecks(name string, s *huma.Schema, allowed ...string) error {
	if s == nil {
		return fmt.Errorf("search body: no schema for %s", name)
	}
	set := map[string]bool{
		"pattern": s.Pattern != "", "minLength": s.MinLength != nil, "maxLength": s.MaxLength != nil,
		"minimum": s.Minimum != nil, "maximum": s.Maximum != nil, "exclusiveMinimum": s.ExclusiveMinimum != nil,
		"exclusiveMaximum": s.ExclusiveMaximum != nil, "multipleOf": s.MultipleOf != nil,
		"minItems": s.MinItems != nil, "maxItems": s.MaxItems != nil, "uniqueItems": s.UniqueItems,
		"enum": len(s.Enum) > 0, "format": s.Format != "" && !numericFormat[s.Format], "required": len(s.Required) > 0,
		"minProperties": s.MinProperties != nil, "maxProperties": s.MaxProperties != nil,
		"dependentRequired": len(s.DependentRequired) > 0, "readOnly": s.ReadOnly, "writeOnly": s.WriteOnly,
		"oneOf": len(s.OneOf) > 0, "anyOf": len(s.AnyOf) > 0, "allOf": len(s.AllOf) > 0, "not": s.Not != nil,
	}
	for keyword, on := range set {
		if on != slices.Contains(allowed, keyword) {
			return fmt.Errorf("search body: %s: %s is not what the fast path checks", name, keyword)
		}
	}
	return nil
}

// decode returns the request in raw, or the error huma would have answered.
func (b *searchBody) decode(raw []byte) (SearchRequest, error) {
	if raw == nil { // no body at all: huma has already answered when one is required
		return SearchRequest{}, nil
	}
	var r SearchRequest
	if b.vouch(raw, &r) {
		return r, nil
	}
	r = SearchRequest{}
	return r, b.full(raw, &r)
}

// vouch decodes raw into r and reports whether the schema accepts it: valid
// UTF-8 and JSON of the struct's types, strict (see checkStrict), no null,
// keys spelled exactly as the schema names them (encoding/json would match
// "EMBEDDING" too), and every value within the schema's limits.
func (b *searchBody) vouch(raw []byte, r *SearchRequest) bool {
	if !utf8.Valid(raw) || json.Unmarshal(raw, r) != nil {
		return false
	}
	var top, inFilters map[string]bool
	known := true
	s := strictScanner{data: raw, onKey: func(path []pathSeg) {
		switch {
		case len(path) == 1 && b.keys[path[0].key]:
			top = setKey(top, path[0].key)
		case len(path) == 2 && path[0].key == "filters" && b.filterKeys[path[1].key]:
			inFilters = setKey(inFilters, path[1].key)
		default:
			known = false
		}
	}}
	if s.value() != nil || !known || s.nulls > 0 {
		return false
	}
	if top["query"] == top["embedding"] { // oneOf: exactly one of them
		return false
	}
	if r.Query != nil && (utf8.RuneCountInString(*r.Query) > b.queryMax || strings.TrimSpace(*r.Query) == "") {
		return false
	}
	if top["embedding"] && len(r.Embedding) != b.vectorItems {
		return false
	}
	if top["k"] && (r.K < b.kMin || r.K > b.kMax) {
		return false
	}
	if top["minScore"] && (*r.MinScore < b.scoreMin || *r.MinScore > b.scoreMax) {
		return false
	}
	if f := r.Filters; f != nil {
		switch {
		case utf8.RuneCountInString(f.Region) > b.regionMax, utf8.RuneCountInString(f.State) > b.stateMax,
			inFilters["difficulty"] && !slices.Contains(b.difficulty, any(string(f.Difficulty))),
			inFilters["certification"] && !slices.Contains(b.certs, any(string(f.Certification))),
			inFilters["maxDepth"] && (f.MaxDepth < b.depthMin || f.MaxDepth > b.depthMax):
			return false
		}
	}
	return true
}

func setKey(m map[string]bool, k string) map[string]bool {
	if m == nil {
		m = make(map[string]bool, 4)
	}
	m[k] = true
	return m
}

// full is huma's own body handling (huma.go, processRegularMsgBody):
// decode into an interface tree, validate it against the schema, decode into
// the struct. Its errors go through humaError like huma's.
func (b *searchBody) full(raw []byte, r *SearchRequest) error {
	var parsed any
	if err := decodeStrict(raw, &parsed); err != nil {
		return humaError(http.StatusBadRequest, "", &huma.ErrorDetail{Location: "body", Message: err.Error(), Value: string(raw)})
	}
	res := &huma.ValidateResult{}
	pb := huma.NewPathBuffer([]byte{}, 0)
	pb.Push("body")
	huma.Validate(b.registry, b.schema, pb, huma.ModeWriteToServer, parsed, res)
	if len(res.Errors) > 0 {
		// The oneOf's failure names no field: any other error first, else
		// the words of knowledge's own check (search.go's checkRequest).
		errs := slices.DeleteFunc(slices.Clone(res.Errors), func(err error) bool {
			var d *huma.ErrorDetail
			return errors.As(err, &d) && d.Location == "body" && strings.HasPrefix(d.Message, "expected value to match exactly one schema")
		})
		if len(errs) == 0 {
			if obj, _ := parsed.(map[string]any); obj != nil && obj["query"] != nil && obj["embedding"] != nil {
				return invalid("query", "give either query or embedding, not both")
			}
			return invalid("query", "required (or give embedding)")
		}
		return humaError(http.StatusUnprocessableEntity, "validation failed", errs...)
	}
	if err := decodeStrict(raw, r); err != nil {
		return humaError(http.StatusUnprocessableEntity, "validation failed",
			&huma.ErrorDetail{Location: "body", Message: err.Error(), Value: string(raw)})
	}
	return nil
}

// TransformSchema documents what knowledge's checkRequest enforces: a search
// has exactly one of query and embedding.
func (SearchRequest) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	// Each names its property too: huma checks required only for the
	// properties a schema lists (the property's own schema is the body's).
	s.OneOf = []*huma.Schema{
		{Type: huma.TypeObject, Title: "By text", Required: []string{"query"},
			Properties: map[string]*huma.Schema{"query": {}}},
		{Type: huma.TypeObject, Title: "By vector", Required: []string{"embedding"},
			Properties: map[string]*huma.Schema{"embedding": {}}},
	}
	return s
}
