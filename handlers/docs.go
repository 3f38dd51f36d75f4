package handlers

import (
	"embed"
	"net/http"

	"github.com/gin-gonic/gin"
)

// docsFS holds the API reference page and Redoc (npm package redoc 2.5.4,
// bundles/redoc.standalone.js, MIT), vendored so /docs works offline and
// loads nothing from a CDN.
//
//go:embed docs/index.html docs/redoc.standalone.js
var docsFS embed.FS

// docsCSP loosens the API's "default-src 'none'" for the docs page only:
// Redoc runs its own script, injects styles, renders in a blob: worker and
// compiles JSON schemas with new Function (ajv).
const docsCSP = "default-src 'none'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src blob:; frame-ancestors 'none'"

func serveDocs(r *gin.Engine) {
	page, _ := docsFS.ReadFile("docs/index.html")
	script, _ := docsFS.ReadFile("docs/redoc.standalone.js")
	r.GET("/docs", func(c *gin.Context) {
		c.Header("Content-Security-Policy", docsCSP)
		c.Data(http.StatusOK, "text/html; charset=utf-8", page)
	})
	r.GET("/docs/redoc.standalone.js", func(c *gin.Context) {
		c.Header("Cache-Control", "public, max-age=86400")
		c.Data(http.StatusOK, "text/javascript; charset=utf-8", script)
	})
}
