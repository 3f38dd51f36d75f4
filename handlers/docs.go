package handlers

import (
	_ "embed" // the docs page and Redoc
	"net/http"

	"github.com/gin-gonic/gin"
)

// docsPage and redocScript are the API reference page and Redoc (npm package redoc 2.5.4,
// bundles/redoc.standalone.js, MIT), vendored so /docs works offline and
// loads nothing from a CDN.
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
}

// writeString answers 200 with body, without copying it.
func writeString(c *gin.Context, contentType, body string) {
	c.Header("Content-Type", contentType)
	c.Status(http.StatusOK)
	_, _ = c.Writer.WriteString(body)
}
