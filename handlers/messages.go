package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humagin"
	"github.com/gin-gonic/gin"
)

// PostMessage stores a diver's message and answers it: 201 with the message
// and the reply as JSON. A client that accepts text/event-stream
// (deprecated: StreamMessage is the stream's own operation) gets the reply
// streamed as StreamMessage streams it, without event ids, as before.
func (h *ConversationHandler) PostMessage(ctx context.Context, in *postMessageInput) (*huma.StreamResponse, error) {
	return h.respond(ctx, &streamMessageInput{AuthHeader: in.AuthHeader, ConversationPath: in.ConversationPath,
		IdempotencyKey: in.IdempotencyKey, Body: in.Body}, acceptsEventStream(in.Accept), false)
}

// StreamMessage stores a diver's message and streams the reply as
// Server-Sent Events: "delta" events carrying {"content": piece}, then one
// "done" event whose data is PostMessage's 201 body; every event has an id
// (the message's id and its place in the stream).
//
// Everything that can be refused (auth, input, quota, Idempotency-Key) is
// answered before streaming begins, as an ordinary JSON error. A generation
// failure before the first piece is a JSON error too (503, or 502 for an
// unusable embedding); after it, an "error" event carrying the error body
// ends the stream.
func (h *ConversationHandler) StreamMessage(ctx context.Context, in *streamMessageInput) (*huma.StreamResponse, error) {
	return h.respond(ctx, in, true, true)
}

// respond admits the message and answers it as JSON or, when sse, as
// Server-Sent Events (with event ids when ids).
func (h *ConversationHandler) respond(ctx context.Context, in *streamMessageInput, sse, ids bool) (*huma.StreamResponse, error) {
	s, convID, res, err := h.admit(ctx, in)
	if err != nil {
		return nil, err
	}
	limits := rateLimitHeaders(res.RateLimit)
	newStream := func(w gin.ResponseWriter) *eventStream {
		st := &eventStream{w: w, header: limits}
		if ids {
			st.idPrefix = res.Message.ID.String() + ":"
		}
		return st
	}

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
			st := newStream(w)
			if st.event("delta", MessageDelta{Content: body.Data.Reply.Content}) == nil {
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
		st := newStream(gc.Writer)
		emit := func(delta string) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			return st.event("delta", MessageDelta{Content: delta})
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

// MessageDelta is the data of a "delta" event: the next piece of the reply.
type MessageDelta struct {
	Content string `json:"content" doc:"The next piece of the reply's content, in order."`
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
	w        gin.ResponseWriter
	header   http.Header
	idPrefix string // "": events have no id; else each id is idPrefix and its place, from 1
	sent     int
	started  bool
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
	// The id follows the event's name, so a stream's first line names its
	// first event with or without ids.
	s.sent++
	id := ""
	if s.idPrefix != "" {
		id = "id: " + s.idPrefix + strconv.Itoa(s.sent) + "\n"
	}
	if _, err := s.w.Write([]byte("event: " + name + "\n" + id + "data: " + string(data) + "\n\n")); err != nil {
		return err
	}
	s.w.Flush()
	return nil
}

// messageOp documents what huma cannot infer from a streamed handler: the
// 201 JSON body and the RateLimit headers, and keeps the 422 (a reused
// Idempotency-Key) that documentCommonResponses otherwise folds into 400.
// The deprecated Accept: text/event-stream form is in the description only,
// so that a generated client sees one success type.
func messageOp(o huma.Operation, registry huma.Registry) huma.Operation {
	o.Metadata = map[string]any{metaRateLimited: true, metaKeep422: true}
	o.DefaultStatus = http.StatusCreated // else huma documents a bare 200 for the streamed handler
	exchange := registry.Schema(reflect.TypeFor[ExchangeBody](), true, "ExchangeBody")
	o.Description = "Stores the diver's message (committed before any generation), then answers it: 201 with the message " +
		"and the planner's reply (`DataBodyExchange`). To receive the reply as it is written, use " +
		"`POST /api/v1/conversations/{id}/messages/stream`.\n\n" +
		"**Deprecated:** `Accept: text/event-stream` on this operation still streams the reply (200, Server-Sent Events " +
		"as the stream operation sends them, without `id:` lines) for existing callers. That form is not among this " +
		"operation's responses; new clients use the stream operation."
	o.Responses = map[string]*huma.Response{
		"201": {Description: "Created: the message and the planner's reply (application/json).",
			Content: map[string]*huma.MediaType{"application/json": {Schema: exchange}},
			Headers: map[string]*huma.Param{"Cache-Control": {Description: "no-store: conversation content.",
				Schema: &huma.Schema{Type: huma.TypeString}}}},
	}
	return o
}

// streamOp documents the stream operation: its 200 is text/event-stream
// only, an array of the events it may send (huma's sse convention), each
// event's data a named component (MessageDelta, MessageDone, MessageError)
// so that generated clients get named types.
func streamOp(o huma.Operation, registry huma.Registry) huma.Operation {
	o.Metadata = map[string]any{metaRateLimited: true, metaKeep422: true}
	schemas := registry.Map()
	registry.Schema(reflect.TypeFor[MessageDelta](), true, "MessageDelta") // the component MessageDelta
	exchange := registry.Schema(reflect.TypeFor[ExchangeBody](), true, "ExchangeBody")
	schemas["MessageDone"] = &huma.Schema{Ref: exchange.Ref,
		Description: "The data of a `done` event: the same body as the 201 of POST /api/v1/conversations/{id}/messages."}
	schemas["MessageError"] = &huma.Schema{Ref: (&APIError{}).Schema(registry).Ref,
		Description: "The data of an `error` event: the API's error body (Error)."}
	event := func(name, doc string, data string) *huma.Schema {
		return &huma.Schema{Title: "Event " + name, Description: doc, Type: huma.TypeObject, AdditionalProperties: false,
			Properties: map[string]*huma.Schema{
				"event": {Type: huma.TypeString, Enum: []any{name}, Description: "The event's name."},
				"id": {Type: huma.TypeString, Description: "`<message id>:<n>`: the diver's message's id and the " +
					"event's place in the stream, from 1."},
				"data": {Ref: "#/components/schemas/" + data},
			},
			Required: []string{"event", "id", "data"}}
	}
	o.Description = "Stores the diver's message (committed before any generation), then streams the planner's reply as " +
		"Server-Sent Events. Every event has an `id:` (`<message id>:<n>`, n counting from 1) and one line of JSON `data:`:\n\n" +
		"- `event: delta`, `MessageDelta`: the next piece of the reply;\n" +
		"- `event: done`, `MessageDone` (the 201 body of POST .../messages): the last event;\n" +
		"- `event: error`, `MessageError` (the error body): the last event, when generation fails after streaming began.\n\n" +
		"Refusals (token, input, quota, Idempotency-Key) and a failure before the first piece are ordinary JSON errors " +
		"with their status. A client that disconnects cancels generation.\n\n" +
		"**Reconnecting safely.** Close the stream on `done` (or `error`); do not let an EventSource-style client " +
		"reconnect by itself, since every connection POSTs the message again. To retry a dropped stream, send the same " +
		"body with the same `Idempotency-Key`: a completed answer is replayed (one `delta` with the whole reply, then " +
		"`done`), a failed one is regenerated, one still being answered is a 409 with Retry-After; no second message " +
		"is stored. `Last-Event-ID` is not read: a retry starts from the first event."
	o.Responses = map[string]*huma.Response{
		"200": {Description: "The reply as Server-Sent Events (text/event-stream): `delta` events, then `done` or `error`.",
			Content: map[string]*huma.MediaType{"text/event-stream": {Schema: &huma.Schema{
				Title: "Server-Sent Events",
				Description: "Each item is one event the stream may send, serialized as UTF-8 text according to the " +
					"Server-Sent Events specification (`event:`, `id:`, `data:` lines, then a blank line).",
				Type: huma.TypeArray,
				Items: &huma.Schema{OneOf: []*huma.Schema{
					event("delta", "A piece of the reply.", "MessageDelta"),
					event("done", "The stored message and reply; the last event.", "MessageDone"),
					event("error", "Generation failed after streaming began; the last event.", "MessageError"),
				}},
			}}},
			Headers: map[string]*huma.Param{
				"Cache-Control":     {Description: "no-cache, no-store.", Schema: &huma.Schema{Type: huma.TypeString}},
				"X-Accel-Buffering": {Description: "no: proxies must not buffer the stream.", Schema: &huma.Schema{Type: huma.TypeString}},
			}},
	}
	return o
}
