package handlers_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dovvydive/backend/models"
	"github.com/dovvydive/backend/planner"
)

// schemas returns the components of the document served at path.
func schemas(t *testing.T, srv server, path string) (doc, components map[string]any) {
	t.Helper()
	r := get(t, srv.URL+path)
	require.Equal(t, http.StatusOK, r.status, r.raw)
	return r.body, r.body["components"].(map[string]any)["schemas"].(map[string]any)
}

func property(t *testing.T, components map[string]any, schema, name string) map[string]any {
	t.Helper()
	s, ok := components[schema].(map[string]any)
	require.True(t, ok, "schema %s", schema)
	p, ok := s["properties"].(map[string]any)[name].(map[string]any)
	require.True(t, ok, "%s.%s", schema, name)
	return p
}

func TestContract_EveryVocabularyIsOneNamedEnumInRequestsAndResponses(t *testing.T) {
	t.Parallel()
	srv := newServer(t, unconnectedDB(t))
	doc, components := schemas(t, srv, "/api/v1/openapi.json")
	for name, values := range map[string][]string{
		"Difficulty": models.Difficulties, "Certification": models.CertificationLevels, "Language": models.Languages,
		"Season": planner.Season("").Values(), "Experience": planner.Experience("").Values(),
		"Specialty": models.Specialty("").Values(), "Rating": {models.RatingUp, models.RatingDown},
		"Role": {models.RoleUser, models.RoleAssistant},
	} {
		s, ok := components[name].(map[string]any)
		require.True(t, ok, "components.schemas.%s", name)
		assert.ElementsMatch(t, values, s["enum"], name)
	}
	for _, f := range []struct{ schema, property, enum string }{
		{"DiveSiteSummary", "difficulty", "Difficulty"}, {"DiveSiteSummary", "minCertification", "Certification"},
		{"DiveSiteDetail", "difficulty", "Difficulty"}, {"DiveSiteDetail", "minCertification", "Certification"},
		{"SearchSite", "difficulty", "Difficulty"}, {"SearchChunk", "language", "Language"},
		{"SearchFilters", "difficulty", "Difficulty"}, {"SearchFilters", "certification", "Certification"},
		{"SessionResponse", "language", "Language"}, {"CreateSessionBody", "language", "Language"},
		{"CreatedSession", "language", "Language"},
		{"MessageView", "role", "Role"}, {"SharedMessage", "role", "Role"},
		{"FeedbackInput", "rating", "Rating"}, {"MessageFeedback", "rating", "Rating"},
		{"Constraints", "certification", "Certification"}, {"Constraints", "experience", "Experience"},
		{"Constraints", "season", "Season"}, {"Constraints", "language", "Language"},
	} {
		assert.Equal(t, "#/components/schemas/"+f.enum, property(t, components, f.schema, f.property)["$ref"], "%s.%s", f.schema, f.property)
	}
	specialties := property(t, components, "Constraints", "specialties")["items"].(map[string]any)
	assert.Equal(t, "#/components/schemas/Specialty", specialties["$ref"])
	params := doc["paths"].(map[string]any)["/api/v1/dive-sites"].(map[string]any)["get"].(map[string]any)["parameters"].([]any)
	refs := map[string]any{}
	for _, p := range params {
		p := p.(map[string]any)
		refs[p["name"].(string)] = p["schema"].(map[string]any)["$ref"]
	}
	assert.Equal(t, "#/components/schemas/Difficulty", refs["difficulty"])
	assert.Equal(t, "#/components/schemas/Certification", refs["certification"])
}

// A new session's token is always in POST /api/v1/sessions' answer, so its
// schema requires it; the current session's answer has none.
func TestContract_ANewSessionsTokenIsRequiredAndTheCurrentSessionHasNone(t *testing.T) {
	t.Parallel()
	srv := newServer(t, unconnectedDB(t))
	doc, components := schemas(t, srv, "/api/v1/openapi.json")
	required, _ := components["CreatedSession"].(map[string]any)["required"].([]any)
	assert.Contains(t, required, "token")
	assert.Contains(t, components["SessionResponse"].(map[string]any)["properties"], "id")
	assert.NotContains(t, components["SessionResponse"].(map[string]any)["properties"], "token")
	paths := doc["paths"].(map[string]any)
	created := paths["/api/v1/sessions"].(map[string]any)["post"].(map[string]any)["responses"].(map[string]any)["201"]
	assert.Contains(t, fmt.Sprint(created), "DataBodyCreatedSession")
	current := paths["/api/v1/sessions/current"].(map[string]any)["get"].(map[string]any)["responses"].(map[string]any)["200"]
	assert.Contains(t, fmt.Sprint(current), "DataBodySessionResponse")
}

func TestContract_UnknownConstraintsAreAbsentAndDefaultedFieldsAreOptional(t *testing.T) {
	t.Parallel()
	srv := newServer(t, unconnectedDB(t))
	_, components := schemas(t, srv, "/api/v1/openapi.json")
	required := components["Constraints"].(map[string]any)["required"].([]any)
	assert.ElementsMatch(t, []any{"months", "places", "avoidPlaces", "wishes", "specialties", "language"}, required,
		"an unknown season, certification, experience, depth or age is absent, not a sentinel")
	assert.EqualValues(t, 1, property(t, components, "Constraints", "maxDepthM")["minimum"])
	// openapi-typescript makes a property with a default required; these
	// are optional in the request, so they carry none (the server applies it).
	for _, f := range [][2]string{{"SearchRequest", "k"}, {"CreateSessionBody", "language"}} {
		assert.NotContains(t, property(t, components, f[0], f[1]), "default", "%s.%s", f[0], f[1])
		required, _ := components[f[0]].(map[string]any)["required"].([]any)
		assert.NotContains(t, required, f[1], "%s.%s", f[0], f[1])
	}
	// The list never carries operators, and does not declare them.
	assert.NotContains(t, components["DiveSiteSummary"].(map[string]any)["properties"], "operators")
}

func TestContract_The30DowngradeKeepsDescriptionsBesideReferences(t *testing.T) {
	t.Parallel()
	srv := newServer(t, unconnectedDB(t))
	doc, components := schemas(t, srv, "/api/v1/openapi-3.0.json")
	assert.Equal(t, "3.0.3", doc["openapi"])
	cert := property(t, components, "Constraints", "certification")
	assert.NotContains(t, cert, "$ref", "3.0 ignores keywords beside $ref")
	assert.Equal(t, []any{map[string]any{"$ref": "#/components/schemas/Certification"}}, cert["allOf"])
	assert.Equal(t, "The diver's own certification level; absent while unknown.", cert["description"])
	// YAML too, and the 3.1 document keeps its $ref with the description beside it.
	for _, path := range []string{"/api/v1/openapi.yaml", "/api/v1/openapi-3.0.yaml"} {
		res, err := http.Get(srv.URL + path)
		require.NoError(t, err)
		body := readAll(t, res)
		res.Body.Close()
		assert.Equal(t, http.StatusOK, res.StatusCode, path)
		assert.Contains(t, body, "absent while unknown", path)
	}
	_, c31 := schemas(t, srv, "/api/v1/openapi.json")
	assert.Equal(t, "#/components/schemas/Certification", property(t, c31, "Constraints", "certification")["$ref"])
}

func TestContract_DeclaresItsLicenceAndTheFaviconIsNoContent(t *testing.T) {
	t.Parallel()
	srv := newServer(t, unconnectedDB(t))
	doc, _ := schemas(t, srv, "/api/v1/openapi.json")
	assert.Equal(t, map[string]any{"name": "Proprietary"}, doc["info"].(map[string]any)["license"])

	res, err := http.Get(srv.URL + "/favicon.ico")
	require.NoError(t, err)
	defer res.Body.Close()
	assert.Equal(t, http.StatusNoContent, res.StatusCode)
	assert.Contains(t, res.Header.Get("Cache-Control"), "max-age=")
	assert.Empty(t, readAll(t, res))
}
