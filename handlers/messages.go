package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"reflect"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humagin"
	"github.com/gin-gonic/gin"
)

// PostMessage stores a diver's message and answers it: 201 with the message
// and the reply as JSON, or, when the client accepts text/event-stream, 200
// with the reply streamed as Server-Sent Events ("delta" events carrying
// {"content": piece}, then one "done" event whose data is the 201 body).
//
// Everything that can be refused (auth, input, quota, Idempotency-Key) is
// answered before streaming begins, as an ordinary JSON error. A generation
// failure before the first piece is a JSON 503 too; after it, an "error"
// event carrying the error body ends the stream.
func (h *ConversationHandler) PostMessage(ctx context.Context, in *postMessageInput) (*huma.StreamResponse, error) {
	s, convID, res, err := h.admit(ctx, in)
	if err != nil {
		return nil, err
	}
	limits := rateLimitHeaders(res.RateLimit)
	sse := acceptsEventStream(in.Accept)

	if res.Replayed {
		body, err := h.answer(ctx, s.ID, convID, res, in.IdempotencyKey, nil) // the stored reply, without generating
		if err != nil {
			return nil, withHeaders(err, limits)
		}
		return &huma.StreamResponse{Body: func(hctx huma.Context) {
			w := humagin.Unwrap(hctx).Writer
			if !sse {
				writeJSON(w, http.StatusCreated, limits, body)
				return
			}
			st := &eventStream{w: w, header: limits}
			if st.event("delta", map[string]string{"content": body.Data.Reply.Content}) == nil {
				_ = st.event("done", body)
			}
		}}, nil
	}

	if !sse {
		body, err := h.answer(ctx, s.ID, convID, res, in.IdempotencyKey, nil)
		if err != nil {
			return nil, withHeaders(err, limits)
		}
		return &huma.StreamResponse{Body: func(hctx huma.Context) {
			writeJSON(humagin.Unwrap(hctx).Writer, http.StatusCreated, limits, body)
		}}, nil
	}

	return &huma.StreamResponse{Body: func(hctx huma.Context) {
		gc := humagin.Unwrap(hctx)
		ctx := gc.Request.Context() // cancelled when the client goes away
		st := &eventStream{w: gc.Writer, header: limits}
		emit := func(delta string) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			return st.event("delta", map[string]string{"content": delta})
		}
		body, err := h.answer(ctx, s.ID, convID, res, in.IdempotencyKey, emit)
		switch {
		case err != nil && clientGone(ctx):
			// The client went away: nobody is listening. Before the stream
			// opened, the request is recorded as the client's 499.
			if !gc.Writer.Written() {
				gc.Status(statusClientClosedRequest)
			}
			return
		case err != nil:
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				apiErr = internalError()
			}
			if st.started { // the stream is open: the error is its last event
				_ = st.event("error", apiErr)
				return
			}
			withHeaders(apiErr, limits)
			writeJSON(gc.Writer, apiErr.status, apiErr.GetHeaders(), apiErr)
		default:
			_ = st.event("done", body)
		}
	}}, nil
}

// acceptsEventStream reports whether the Accept header asks for
// text/event-stream (with a non-zero q).
func acceptsEventStream(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err == nil && mt == "text/event-stream" && params["q"] != "0" && !strings.HasPrefix(params["q"], "0.0") {
			return true
		}
	}
	return false
}

// writeJSON writes a JSON answer the way huma would (no HTML escaping).
func writeJSON(w gin.ResponseWriter, status int, header http.Header, v any) {
	var buf bytes.Buffer
	if err := strictJSON.Marshal(&buf, v); err != nil {
		status, buf = http.StatusInternalServerError, *bytes.NewBufferString(`{"error":{"code":"internal","message":"internal error"}}`)
	}
	for k, vs := range header {
		w.Header()[k] = vs
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", noStore)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// eventStream writes Server-Sent Events, sending the headers with the first
// event and flushing after each so that no buffer (ours, gin's, a proxy's)
// holds the reply back.
type eventStream struct {
	w       gin.ResponseWriter
	header  http.Header
	started bool
}

func (s *eventStream) event(name string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if !s.started {
		s.started = true
		h := s.w.Header()
		for k, vs := range s.header {
			h[k] = vs
		}
		h.Set("Content-Type", "text/event-stream")
		// no-cache is what SSE clients and proxies expect; no-store because
		// the stream is conversation content.
		h.Set("Cache-Control", "no-cache, no-store")
		h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
		s.w.WriteHeader(http.StatusOK)
	}
	// JSON never contains a raw newline, so each event's data is one line.
	if _, err := s.w.Write([]byte("event: " + name + "\ndata: " + string(data) + "\n\n")); err != nil {
		return err
	}
	s.w.Flush()
	return nil
}

// messageOp documents what huma cannot infer from a streamed handler: the
// 201 JSON body, the 200 event stream and the RateLimit headers, and keeps
// the 422 (a reused Idempotency-Key) that documentCommonResponses otherwise
// folds into 400.
func messageOp(o huma.Operation, registry huma.Registry) huma.Operation {
	o.Metadata = map[string]any{metaRateLimited: true, metaKeep422: true}
	exchange := registry.Schema(reflect.TypeFor[ExchangeBody](), true, "ExchangeBody")
	o.Responses = map[string]*huma.Response{
		"201": {Description: "Created: the message and the planner's reply (application/json).",
			Content: map[string]*huma.MediaType{"application/json": {Schema: exchange}},
			Headers: map[string]*huma.Param{"Cache-Control": {Description: "no-store: conversation content.",
				Schema: &huma.Schema{Type: huma.TypeString}}}},
		"200": {Description: "With `Accept: text/event-stream`: the reply as Server-Sent Events. `event: delta` carries " +
			"`{\"content\": \"<piece>\"}`; the last event is `event: done` whose data is the 201 body (ExchangeBody), or " +
			"`event: error` with the error body if generation fails after streaming began.",
			Content: map[string]*huma.MediaType{"text/event-stream": {Schema: &huma.Schema{Type: huma.TypeString}}},
			Headers: map[string]*huma.Param{
				"Cache-Control":     {Description: "no-cache, no-store.", Schema: &huma.Schema{Type: huma.TypeString}},
				"X-Accel-Buffering": {Description: "no: proxies must not buffer the stream.", Schema: &huma.Schema{Type: huma.TypeString}},
			}},
	}
	return o
}
