package handlers

import (
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/validation"
	"github.com/google/uuid"

	"github.com/dovvydive/backend/models"
	"github.com/dovvydive/backend/planner"
)

// The API's contract is generated from the code by huma: the operations in
// routes.go, their input and output structs and the models' enums are the
// one source of both the OpenAPI document and the request validation, so
// the two cannot drift.

// APIVersion is the version of the published contract.
const APIVersion = "1.0.0"

var errorDetailType = reflect.TypeFor[ErrorDetail]()

// Operation metadata read by documentCommonResponses.
const (
	metaRateLimited = "rateLimited" // responses carry RateLimit-* headers
	metaKeep422     = "keep422"     // 422 is a real answer (a reused Idempotency-Key), not huma's validation error
	metaAnyQuery    = "anyQuery"    // a link people share: whatever query it picks up (utm_*, fbclid) is ignored
)

func init() {
	// Handlers always answer lists as [], never null.
	huma.DefaultArrayNullable = false
	// JSON keys are case-sensitive: {"LANGUAGE": "zh"} is an unknown field.
	huma.ValidateStrictCasing = true
	// huma's own errors come out in the API's error shape.
	huma.NewError = humaError
	huma.NewErrorWithContext = func(_ huma.Context, status int, msg string, errs ...error) huma.StatusError {
		return humaError(status, msg, errs...)
	}
	// Validation messages in words; fieldOf prefixes the field.
	validation.MsgUnexpectedProperty = "unknown field"
	validation.MsgExpectedBoolean = "must be true or false"
	validation.MsgExpectedNumber = "must be a number"
	validation.MsgExpectedInteger = "must be an integer"
	validation.MsgExpectedString = "must be text"
	validation.MsgExpectedArray = "must be a list"
	validation.MsgExpectedObject = "must be an object"
	validation.MsgExpectedOneOf = "must be one of %s"
	validation.MsgExpectedMinimumNumber = "must be at least %v"
	validation.MsgExpectedMaximumNumber = "must be at most %v"
	validation.MsgExpectedMinLength = "must be at least %d characters"
	validation.MsgExpectedMaxLength = "must be at most %d characters"
	validation.MsgExpectedMinItems = "must have at least %d items"
	validation.MsgExpectedMaxItems = "must have at most %d items"
	validation.MsgExpectedRFC4122UUID = "must be a UUID (%v)"
	validation.MsgExpectedRequiredProperty = "required property %s is missing"
	validation.MsgExpectedBePattern = "must be %s" // with a patternDescription
}

// notOnlySpace is the pattern of text that must not be empty or only
// whitespace (strings.TrimSpace(s) != ""): it matches any character that
// unicode.IsSpace refuses, and says the same in Go's regexp (huma,
// kin-openapi) and in ECMAScript's (JSON Schema's, so a generated client's
// and a mock's), because it lists the characters themselves rather than
// \s, which the two read differently. A struct tag cannot name a constant:
// the tags that use it spell it out, and a test keeps them equal.
const notOnlySpace = "[^\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"

// documentStrictQuery writes strictQuery's rule for every free-text query
// parameter into the document: not empty, not only whitespace. strictQuery
// enforces it for every parameter before huma sees them, so the schema
// is a documentation copy (huma validates with its own, unchanged one).
func documentStrictQuery(_ *huma.OpenAPI, op *huma.Operation) {
	for _, p := range op.Parameters {
		if p.In != "query" || p.Schema == nil || p.Schema.Type != huma.TypeString || p.Schema.Ref != "" ||
			len(p.Schema.Enum) > 0 || p.Schema.Format != "" || p.Schema.Pattern != "" {
			continue
		}
		doc := *p.Schema
		doc.Pattern, doc.PatternDescription = notOnlySpace, "not empty or only whitespace"
		p.Schema = &doc
	}
}

// enumSchema documents an enum type (models.Difficulty, planner.Season...):
// one named schema in components, named after the Go type, that every
// request and response field of the type references, so a generated client
// has one union type per vocabulary (a response's difficulty can be passed
// back as a filter). Its Values are the enum, which is also what huma
// validates requests against.
type enumSchema[T interface {
	~string
	Values() []string
}] string

func (enumSchema[T]) Schema(r huma.Registry) *huma.Schema {
	var zero T
	name := reflect.TypeFor[T]().Name()
	if _, ok := r.Map()[name]; !ok {
		s := &huma.Schema{Type: huma.TypeString, Description: enumDescriptions[name]}
		for _, v := range zero.Values() {
			s.Enum = append(s.Enum, v)
		}
		// huma words its validation messages ("must be one of …") when it
		// builds a schema itself; one put in the map by hand must ask.
		s.PrecomputeMessages()
		r.Map()[name] = s
	}
	return &huma.Schema{Ref: schemaRefPrefix + name}
}

// schemaRefPrefix is where huma's registry puts named schemas.
const schemaRefPrefix = "#/components/schemas/"

// enumDescriptions say what each vocabulary is, once, in its schema.
var enumDescriptions = map[string]string{
	"Difficulty":    "A dive site's difficulty, easiest first.",
	"Certification": "A recreational certification level, lowest first: a site's minimum, or the diver's own.",
	"Language":      "A language the planner answers in: English or Simplified Chinese.",
	"Likelihood":    "How likely an animal is to be seen at a site in its months.",
	"Specialty":     "Specialty training beyond a certification level.",
	"Season":        "A named time of travel the diver gave instead of months (`any`: no preference).",
	"Experience":    "How experienced the diver says they are.",
	"Rating":        "A diver's rating of one of the planner's replies.",
	"Role":          "Who wrote a message: the diver (`user`) or the planner (`assistant`).",
}

// uuidSchema documents every uuid.UUID as a string in the uuid format, so a
// generated client types ids alike everywhere.
type uuidSchema string

func (uuidSchema) Schema(huma.Registry) *huma.Schema {
	return &huma.Schema{Type: huma.TypeString, Format: "uuid"}
}

func registerEnums(r huma.Registry) {
	r.RegisterTypeAlias(reflect.TypeFor[uuid.UUID](), reflect.TypeFor[uuidSchema]())
	r.RegisterTypeAlias(reflect.TypeFor[models.Difficulty](), reflect.TypeFor[enumSchema[models.Difficulty]]())
	r.RegisterTypeAlias(reflect.TypeFor[models.Certification](), reflect.TypeFor[enumSchema[models.Certification]]())
	r.RegisterTypeAlias(reflect.TypeFor[models.Language](), reflect.TypeFor[enumSchema[models.Language]]())
	r.RegisterTypeAlias(reflect.TypeFor[models.Likelihood](), reflect.TypeFor[enumSchema[models.Likelihood]]())
	r.RegisterTypeAlias(reflect.TypeFor[models.Specialty](), reflect.TypeFor[enumSchema[models.Specialty]]())
	r.RegisterTypeAlias(reflect.TypeFor[planner.Season](), reflect.TypeFor[enumSchema[planner.Season]]())
	r.RegisterTypeAlias(reflect.TypeFor[planner.Experience](), reflect.TypeFor[enumSchema[planner.Experience]]())
	r.RegisterTypeAlias(reflect.TypeFor[models.Rating](), reflect.TypeFor[enumSchema[models.Rating]]())
	r.RegisterTypeAlias(reflect.TypeFor[models.Role](), reflect.TypeFor[enumSchema[models.Role]]())
}

// apiConfig is huma's configuration for this API: OpenAPI 3.1 at
// /api/v1/openapi.json (and a 3.0 downgrade at /api/v1/openapi-3.0.json),
// no huma docs page (ours is offline, see docs.go), no $schema links in
// bodies, strict JSON, unknown query parameters rejected.
func apiConfig() huma.Config {
	cfg := huma.DefaultConfig("DovvyDive API", APIVersion)
	// No LICENSE file and no licence in the README: the API is not open
	// source. No URL: there is no licence text to point to.
	cfg.Info.License = &huma.License{Name: "Proprietary"}
	cfg.Info.Description = "The JSON API of DovvyDive, an AI dive-trip planner for Malaysia. Every error has the shape " +
		"`{\"error\": {\"code\", \"message\", \"field\"}}`; every response carries `X-Request-ID`. " +
		"A query parameter an operation does not list, or one given twice or empty, is a 400 `invalid_input`; " +
		"so is a JSON body field a schema does not list."
	cfg.OpenAPIPath = "" // served by serveContract (docs.go), at contractPath
	cfg.DocsPath = ""
	cfg.SchemasPath = ""
	cfg.CreateHooks = nil // the default adds $schema to every body
	cfg.RejectUnknownQueryParameters = true
	cfg.Formats = map[string]huma.Format{
		"application/json": strictJSON,
		"json":             strictJSON,
	}
	cfg.OnAddOperation = append(cfg.OnAddOperation, documentCommonResponses, documentTagsAndSecurity, documentStrictQuery,
		documentDeprecatedParams)
	cfg.Tags = apiTags
	// Relative: the server that serves the document is the one to call.
	cfg.Servers = []*huma.Server{{URL: "/", Description: "the server that serves this document"}}
	registerEnums(cfg.Components.Schemas)
	return cfg
}

// apiTags group the operations (Redoc's menu, one class per tag in
// generated clients), in menu order.
var apiTags = []*huma.Tag{
	{Name: "Dive sites", Description: "The catalogue of Malaysian dive sites and their facts."},
	{Name: "Operators", Description: "Dive centres and the sites they serve."},
	{Name: "Sessions", Description: "Guest sessions: the bearer token every conversation needs."},
	{Name: "Conversations", Description: "Trip-planning conversations and the planner's answers."},
	{Name: "Search", Description: "Knowledge search over the dive-site texts."},
	{Name: "Health", Description: "Liveness, readiness and the database report."},
}

// tagFor is the tag of the operation at path.
func tagFor(path string) string {
	for prefix, tag := range map[string]string{
		"/api/v1/dive-sites": "Dive sites", "/api/v1/dive-operators": "Operators", "/api/v1/sessions": "Sessions",
		"/api/v1/conversations": "Conversations", "/api/v1/search": "Search",
	} {
		if path == prefix || strings.HasPrefix(path, prefix+"/") {
			return tag
		}
	}
	return "Health"
}

// documentTagsAndSecurity tags each operation by its resource and writes
// `security: []` on the public ones, so a generator knows they need no
// token rather than guessing.
func documentTagsAndSecurity(_ *huma.OpenAPI, op *huma.Operation) {
	if len(op.Tags) == 0 {
		op.Tags = []string{tagFor(op.Path)}
	}
	if op.Security == nil {
		op.Security = []map[string][]string{}
	}
}

// documentCommonResponses adds what every operation shares: X-Request-ID on
// every response, Retry-After on every 503, 400 (never huma's 422) for bad
// input, the middleware's 403 (CORS) and, with a body, 408.
func documentCommonResponses(_ *huma.OpenAPI, op *huma.Operation) {
	if r, ok := op.Responses["422"]; ok && op.Metadata[metaKeep422] == true {
		r.Description = "Unprocessable: the Idempotency-Key was already used for a different request."
		if _, ok := op.Responses["400"]; !ok {
			op.Responses["400"] = &huma.Response{Description: "Bad Request: a parameter, header or body field is wrong; `field` names it.",
				Content: r.Content}
		}
	} else if ok {
		delete(op.Responses, "422")
		if _, ok := op.Responses["400"]; !ok {
			r.Description = "Bad Request: a parameter, header or body field is wrong; `field` names it."
			op.Responses["400"] = r
		}
	}
	if r, ok := op.Responses["500"]; ok {
		errorContent := r.Content
		op.Responses["403"] = &huma.Response{Description: "Forbidden: a cross-origin request from an origin not in server.cors_origins.",
			Content: errorContent}
		if op.RequestBody != nil {
			op.Responses["408"] = &huma.Response{Description: "Request Timeout: the body did not arrive within server.request_timeout.",
				Content: errorContent}
		}
	}
	for status, r := range op.Responses {
		if r.Headers == nil {
			r.Headers = map[string]*huma.Param{}
		}
		r.Headers["X-Request-ID"] = &huma.Param{Description: "The request's id: the caller's X-Request-ID when it is 1-64 characters of [A-Za-z0-9._:-], else a new UUID.",
			Schema: &huma.Schema{Type: huma.TypeString}}
		switch status {
		case "503", "429":
			r.Headers["Retry-After"] = &huma.Param{Description: "Seconds to wait before retrying.",
				Schema: &huma.Schema{Type: huma.TypeInteger}}
		case "401":
			r.Description = "Unauthorized: `unauthorized` for a missing or invalid token, `session_expired` for an expired or deleted session."
			r.Headers["WWW-Authenticate"] = &huma.Param{Description: `Bearer error="invalid_token"`,
				Schema: &huma.Schema{Type: huma.TypeString}}
		case "409":
			r.Description = "Conflict: a request with this Idempotency-Key is still being answered."
			r.Headers["Retry-After"] = &huma.Param{Description: "Seconds to wait before retrying (1).",
				Schema: &huma.Schema{Type: huma.TypeInteger}}
		case "502":
			r.Description = embeddingFailures
		}
		if op.Metadata[metaRateLimited] == true && slices.Contains([]string{"200", "201", "409", "422", "429", "502", "503"}, status) {
			for name, doc := range map[string]string{
				"RateLimit-Limit":     "Messages the session may send per rolling hour.",
				"RateLimit-Remaining": "Messages left in the current window.",
				"RateLimit-Reset":     "Seconds until the window frees a place.",
			} {
				r.Headers[name] = &huma.Param{Description: doc, Schema: &huma.Schema{Type: huma.TypeInteger}}
			}
		}
	}
	op.Parameters = append(op.Parameters, &huma.Param{Name: "X-Request-ID", In: "header",
		Description: "Optional id to correlate logs; echoed back when sane.", Schema: &huma.Schema{Type: huma.TypeString}})
}

// embeddingFailures documents the one rule for an embedding failure, the
// same on /search and on a message.
const embeddingFailures = "Bad Gateway: `embedding_failed`, the embedding service answered but unusably (retrying will not help). " +
	"An embedding failure is answered alike on every route: this 502 when the service answered unusably, a 503 " +
	"`embedding_unavailable` with Retry-After when it is down, rate-limited or too slow."

// strictQuery rejects what huma's query binding would silently accept: a
// malformed query string, a parameter given twice (huma takes the first),
// an empty one (huma treats it as absent) and control characters, which
// PostgreSQL refuses (NUL) or a log line would carry.
func strictQuery(api huma.API) func(huma.Context, func(huma.Context)) {
	return func(ctx huma.Context, next func(huma.Context)) {
		u := ctx.URL()
		if u.RawQuery == "" || ctx.Operation().Metadata[metaAnyQuery] == true {
			next(ctx)
			return
		}
		values, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			_ = huma.WriteErr(api, ctx, http.StatusBadRequest, "", &huma.ErrorDetail{Message: "malformed query string"})
			return
		}
		names := make([]string, 0, len(values))
		for name := range values {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			why := ""
			switch v := values[name]; {
			case len(v) > 1:
				why = "must be given once"
			case strings.TrimSpace(v[0]) == "":
				why = "must not be empty"
			case !utf8.ValidString(v[0]) || strings.ContainsFunc(v[0], unicode.IsControl):
				why = "must be printable UTF-8 text"
			}
			if why != "" {
				_ = huma.WriteErr(api, ctx, http.StatusBadRequest, "", &huma.ErrorDetail{Location: "query." + name, Message: why})
				return
			}
		}
		next(ctx)
	}
}

// documentDeprecatedParams marks a parameter deprecated when its field's tag
// says so: huma puts `deprecated` on the parameter's schema only, where
// generators (openapi-typescript's @deprecated) do not look.
func documentDeprecatedParams(_ *huma.OpenAPI, op *huma.Operation) {
	for _, p := range op.Parameters {
		if p.Schema != nil && p.Schema.Deprecated {
			p.Deprecated = true
		}
	}
}
