package gemini

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
)

// StreamGenerateContent asks model for an answer streamed as Server-Sent
// Events (alt=sse) and yields each event's response as it arrives. An error
// is yielded once and ends the sequence: a failed request (*APIError), an
// error event (*APIError), a malformed event, or ctx's error when it ends
// first. Leaving the loop early closes the stream. There is no automatic
// continuation: one answer is one request, so nothing outlives the loop.
func (c *Client) StreamGenerateContent(ctx context.Context, model string, req *GenerateContentRequest) iter.Seq2[*GenerateContentResponse, error] {
	return func(yield func(*GenerateContentResponse, error) bool) {
		name, err := modelName(model)
		if err != nil {
			yield(nil, err)
			return
		}
		resp, err := c.post(ctx, name+":streamGenerateContent", "alt=sse", req)
		if err != nil {
			yield(nil, fmt.Errorf("gemini streamGenerateContent: %w", err))
			return
		}
		defer resp.Body.Close()
		events := newEventReader(ctx, resp.Body)
		for {
			data, err := events.next()
			if err == io.EOF {
				return
			}
			var answer *GenerateContentResponse
			if err == nil {
				answer, err = c.decodeEvent(data)
			} else {
				err = c.notSSE(err)
			}
			if err != nil {
				yield(nil, fmt.Errorf("gemini streamGenerateContent: %w", err))
				return
			}
			if !yield(answer, nil) {
				return
			}
		}
	}
}

// event is one event's data: an answer, or Google's error JSON.
type event struct {
	GenerateContentResponse
	errorBody
}

func (c *Client) decodeEvent(data []byte) (*GenerateContentResponse, error) {
	var ev event
	if err := json.Unmarshal(data, &ev); err != nil {
		return nil, fmt.Errorf("malformed event: %w", err) // not the data: it is the server's text
	}
	if e := c.streamError(ev.errorBody); e != nil {
		return nil, e
	}
	return &ev.GenerateContentResponse, nil
}

// notSSE turns a line that is not Server-Sent Events into the *APIError it
// holds when it is Google's error JSON on its own, as the SDK read it too.
func (c *Client) notSSE(err error) error {
	var line *notSSEError
	if !errors.As(err, &line) {
		return err
	}
	var body errorBody
	if json.Unmarshal(line.line, &body) == nil {
		if e := c.streamError(body); e != nil {
			return e
		}
	}
	return err
}

type notSSEError struct{ line []byte }

func (*notSSEError) Error() string { return "malformed stream: a line that is not an event field" }

// eventReader reads Server-Sent Events as they arrive. A blank line ends an
// event; its data lines are joined by "\n". Comments (keep-alives) and the
// event, id and retry fields are skipped. Lines end in "\n" or "\r\n" and
// may be at most maxEventBytes long, as may an event.
type eventReader struct {
	ctx context.Context
	sc  *bufio.Scanner
}

func newEventReader(ctx context.Context, r io.Reader) *eventReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4<<10), maxEventBytes)
	return &eventReader{ctx: ctx, sc: sc}
}

// next returns the data of the next event, or io.EOF after the last.
func (r *eventReader) next() ([]byte, error) {
	var data []byte
	seen := false // a data line was read; its value may be empty
	for r.sc.Scan() {
		// A cancelled caller stops here even when events are buffered.
		if err := r.ctx.Err(); err != nil {
			return nil, err
		}
		line := r.sc.Bytes()
		if len(line) == 0 {
			if seen {
				return data, nil
			}
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		switch string(field) {
		case "": // a comment
		case "data":
			if seen {
				data = append(data, '\n')
			}
			value = bytes.TrimPrefix(value, []byte(" "))
			if len(data)+len(value) > maxEventBytes {
				return nil, fmt.Errorf("stream event larger than %d bytes", maxEventBytes)
			}
			data = append(data, value...)
			seen = true
		case "event", "id", "retry":
		default:
			return nil, &notSSEError{line: bytes.Clone(line)}
		}
	}
	// The body's read fails when ctx ends; ctx's error says why.
	if err := r.ctx.Err(); err != nil {
		return nil, err
	}
	if err := r.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("stream line longer than %d bytes", maxEventBytes)
		}
		return nil, fmt.Errorf("read stream: %w", err)
	}
	if seen {
		return data, nil // the last event lacked its blank line; the SDK read it too
	}
	return nil, io.EOF
}
