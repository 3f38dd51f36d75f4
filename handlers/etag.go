package handlers

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/cespare/xxhash/v2"
	"github.com/danielgtaylor/huma/v2"
	"github.com/gin-gonic/gin"
)

// cacheControl is sent with dive sites and operators: they change only when
// the data is re-seeded; the ETag makes revalidation after a minute cheap.
const cacheControl = "public, max-age=60"

// cacheable gives successful GET responses of the given routes (gin route
// templates) an ETag computed from their body
// and a Cache-Control header, and answers 304 Not Modified, with no body, when
// the client's If-None-Match already names that ETag. Dive sites and
// operators change only when the data is re-seeded, so clients and CDNs may
// keep them for maxAge and revalidate cheaply afterwards.
//
// The ETag is weak (W/"…"): the same representation may be sent gzip-encoded
// or not, and a weak tag stays valid across encodings.
func cacheable(cacheControl string, routes ...string) gin.HandlerFunc {
	cached := make(map[string]bool, len(routes))
	for _, r := range routes {
		cached[r] = true
	}
	return func(c *gin.Context) {
		if !cached[c.FullPath()] || (c.Request.Method != http.MethodGet && c.Request.Method != http.MethodHead) {
			c.Next()
			return
		}
		// A shared cache must key these public answers on Origin too: the
		// CORS middleware says so only when a request has one, and a copy
		// cached without Access-Control-Allow-Origin would then be served
		// to a browser's cross-origin request.
		if !slices.Contains(c.Writer.Header().Values("Vary"), "Origin") {
			c.Writer.Header().Add("Vary", "Origin")
		}
		w := bufferedWriters.Get().(*bufferedWriter)
		w.ResponseWriter, w.status = c.Writer, http.StatusOK
		defer w.release()
		c.Writer = w
		func() {
			// Restored even when a handler panics, so recovery's 500 reaches
			// the client instead of this buffer.
			defer func() { c.Writer = w.ResponseWriter }()
			c.Next()
		}()
		if w.status != http.StatusOK {
			w.flush()
			return
		}
		// xxhash: fast, and the same in every instance behind a balancer,
		// so a tag from one instance revalidates on another.
		sum := xxhash.Sum64(w.body.Bytes())
		tag := `W/"` + base64.RawURLEncoding.EncodeToString(binary.BigEndian.AppendUint64(nil, sum)) + `"`
		hdr := c.Writer.Header()
		hdr.Set("ETag", tag)
		hdr.Set("Cache-Control", cacheControl)
		if etagMatches(c.GetHeader("If-None-Match"), tag) {
			hdr.Del("Content-Length")
			hdr.Del("Content-Type")
			c.Writer.WriteHeader(http.StatusNotModified)
			c.Writer.WriteHeaderNow()
			return
		}
		w.flush()
	}
}

// etagMatches applies If-None-Match's weak comparison (RFC 9110 13.1.2).
func etagMatches(header, tag string) bool {
	if header == "" {
		return false
	}
	want := strings.TrimPrefix(tag, "W/")
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == want {
			return true
		}
	}
	return false
}

// bufferedWriter holds a response back until the handler has finished, so
// its ETag can be computed from the whole body.
type bufferedWriter struct {
	gin.ResponseWriter
	body   bytes.Buffer
	status int
}

func (w *bufferedWriter) WriteHeader(code int)              { w.status = code }
func (w *bufferedWriter) WriteHeaderNow()                   {}
func (w *bufferedWriter) Write(b []byte) (int, error)       { return w.body.Write(b) }
func (w *bufferedWriter) WriteString(s string) (int, error) { return w.body.WriteString(s) }
func (w *bufferedWriter) Status() int                       { return w.status }
func (w *bufferedWriter) Size() int                         { return w.body.Len() }
func (w *bufferedWriter) Written() bool                     { return w.body.Len() > 0 }

// bufferedWriters keeps the buffers of finished responses: a new buffer
// growing to each body was the largest allocation of a by-id read.
var bufferedWriters = sync.Pool{New: func() any { return &bufferedWriter{} }}

// release returns w to the pool, unless its buffer grew unusually large.
func (w *bufferedWriter) release() {
	w.ResponseWriter = nil
	if w.body.Cap() > 64<<10 {
		return
	}
	w.body.Reset()
	bufferedWriters.Put(w)
}

// flush sends the held response.
func (w *bufferedWriter) flush() {
	w.ResponseWriter.WriteHeader(w.status)
	if w.body.Len() > 0 {
		_, _ = w.ResponseWriter.Write(w.body.Bytes())
	} else {
		w.ResponseWriter.WriteHeaderNow()
	}
}

// cachedOp documents what cacheable adds to an operation: the ETag and
// Cache-Control headers, and the 304 answer to a matching If-None-Match.
func cachedOp(op huma.Operation) huma.Operation {
	if op.Responses == nil {
		op.Responses = map[string]*huma.Response{}
	}
	str := &huma.Schema{Type: "string"}
	op.Responses["200"] = &huma.Response{Headers: map[string]*huma.Param{
		"ETag":          {Description: "Weak validator of the body; send it back in If-None-Match.", Schema: str},
		"Cache-Control": {Description: "public, max-age=60", Schema: str},
	}}
	op.Responses["304"] = &huma.Response{
		Description: "Not Modified: If-None-Match named the current ETag; no body.",
		Headers:     map[string]*huma.Param{"ETag": {Schema: str}, "Cache-Control": {Schema: str}},
	}
	op.Parameters = append(op.Parameters, &huma.Param{Name: "If-None-Match", In: "header",
		Description: "ETags the client holds; a match answers 304.", Schema: str})
	return op
}
