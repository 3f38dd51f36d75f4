package handlers

import (
	"bytes"
	_ "embed" // the docs page and Redoc
	"encoding/json"
	"net/http"
	"sync"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/yaml"
	"github.com/gin-gonic/gin"
)

// docsPage and redocScript are the API reference page and Redoc (npm package redoc 2.5.4,
// bundles/redoc.standalone.js, MIT), vendored so /docs works offline and
// loads nothing from a CDN. One edit to the bundle: the sidebar footer's
// Redocly logo, which Redoc loads from https://cdn.redoc.ly (refused by
// docsCSP, a console error on every load) and has no option to hide, is an
// empty inline SVG instead (see TestDocs_RenderOfflineFromTheServedContract).
//
// They are strings, served from the binary as they stand: ReadFile on an
// embed.FS copied the megabyte of Redoc onto the heap of every process.
//
//go:embed docs/index.html
var docsPage string

//go:embed docs/redoc.standalone.js
var redocScript string

// docsCSP loosens the API's "default-src 'none'" for the docs page only:
// Redoc runs its own script, injects styles, renders in a blob: worker and
// compiles JSON schemas with new Function (ajv).
const docsCSP = "default-src 'none'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src blob:; frame-ancestors 'none'"

func serveDocs(r *gin.Engine) {
	r.GET("/docs", func(c *gin.Context) {
		c.Header("Content-Security-Policy", docsCSP)
		writeString(c, "text/html; charset=utf-8", docsPage)
	})
	r.GET("/docs/redoc.standalone.js", func(c *gin.Context) {
		c.Header("Cache-Control", "public, max-age=86400")
		writeString(c, "text/javascript; charset=utf-8", redocScript)
	})
	// Browsers ask every origin for /favicon.ico; the API has no icon, and
	// a 204 (cacheable for a day) ends the asking without a logged 404.
	r.GET("/favicon.ico", func(c *gin.Context) {
		c.Header("Cache-Control", "public, max-age=86400")
		c.Status(http.StatusNoContent)
	})
}

// contractPath is where the document is served: .json and .yaml (3.1), and
// -3.0.json and -3.0.yaml (the 3.0.3 downgrade).
const contractPath = "/api/v1/openapi"

// serveContract serves the document in place of huma's own routes (its
// config's OpenAPIPath is empty), for what huma writes that OpenAPI tools
// refuse (renameHumaKeywords) and what its downgrade to 3.0 loses
// (wrapSiblingRefs). The documents are built once, on the first request, when every
// route is registered.
func serveContract(r *gin.Engine, api huma.API) {
	type documents struct{ json31, yaml31, json30, yaml30 []byte }
	build := sync.OnceValue(func() documents {
		var d documents
		d.json31 = rewrite(marshalled(json.Marshal(api.OpenAPI())), renameHumaKeywords)
		d.json30 = rewrite(marshalled(api.OpenAPI().Downgrade()), func(v any) {
			renameHumaKeywords(v)
			wrapSiblingRefs(v)
		})
		d.yaml31, d.yaml30 = toYAML(d.json31), toYAML(d.json30)
		return d
	})
	for path, pick := range map[string]func(documents) ([]byte, string){
		contractPath + ".json":     func(d documents) ([]byte, string) { return d.json31, "application/openapi+json" },
		contractPath + ".yaml":     func(d documents) ([]byte, string) { return d.yaml31, "application/openapi+yaml" },
		contractPath + "-3.0.json": func(d documents) ([]byte, string) { return d.json30, "application/openapi+json" },
		contractPath + "-3.0.yaml": func(d documents) ([]byte, string) { return d.yaml30, "application/openapi+yaml" },
	} {
		r.GET(path, func(c *gin.Context) {
			body, contentType := pick(build())
			c.Data(http.StatusOK, contentType, body)
		})
	}
}

// rewrite decodes a JSON document, applies fix to it and encodes it again.
func rewrite(doc []byte, fix func(any)) []byte {
	var v any
	if json.Unmarshal(doc, &v) != nil {
		return doc
	}
	fix(v)
	return marshalled(json.Marshal(v))
}

func marshalled(b []byte, err error) []byte {
	if err != nil {
		return nil
	}
	return b
}

// walkObjects calls f on every JSON object in v, parents first.
func walkObjects(v any, f func(map[string]any)) {
	switch v := v.(type) {
	case map[string]any:
		f(v)
		for _, child := range v {
			walkObjects(child, f)
		}
	case []any:
		for _, child := range v {
			walkObjects(child, f)
		}
	}
}

// renameHumaKeywords serves huma's patternDescription (the words its
// validation error uses for a pattern: "must be text, not only
// whitespace" rather than the character class) as the extension
// x-patternDescription: it is no keyword of OpenAPI or JSON Schema, and
// Redocly and openapi-typescript refuse it.
func renameHumaKeywords(doc any) {
	walkObjects(doc, func(m map[string]any) {
		if d, ok := m["patternDescription"]; ok {
			delete(m, "patternDescription")
			m["x-patternDescription"] = d
		}
	})
}

// wrapSiblingRefs fixes huma's downgrade to 3.0, which ignores every
// keyword beside a $ref: the description written next to a reference to a
// named schema was lost. Such an object becomes {"allOf": [{"$ref"}],
// "description"}, which keeps both.
func wrapSiblingRefs(doc any) {
	walkObjects(doc, func(m map[string]any) {
		if ref, ok := m["$ref"]; ok && len(m) > 1 {
			delete(m, "$ref")
			m["allOf"] = []any{map[string]any{"$ref": ref}}
		}
	})
}

func toYAML(jsonDoc []byte) []byte {
	var buf bytes.Buffer
	if err := yaml.Convert(&buf, bytes.NewReader(jsonDoc)); err != nil {
		return nil
	}
	return buf.Bytes()
}

// writeString answers 200 with body, without copying it.
func writeString(c *gin.Context, contentType, body string) {
	c.Header("Content-Type", contentType)
	c.Status(http.StatusOK)
	_, _ = c.Writer.WriteString(body)
}
