package gemini

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func readAll(t *testing.T, r *eventReader) ([]string, error) {
	t.Helper()
	var out []string
	for {
		data, err := r.next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, string(data))
	}
}

// Every Read returning one byte splits each line, "\r\n" and event across
// reads: the events come out whole all the same.
func TestEventReader_ReassemblesEventsSplitAcrossReads(t *testing.T) {
	stream := "data: {\"a\":1}\r\n\r\n" +
		": keep-alive\n\n" +
		"event: message\nid: 7\nretry: 100\ndata: {\"b\":\ndata: 2}\n\n" +
		"data:{\"c\":3}\n\n\n\n" +
		"data: {\"d\":4}" // the last event without its blank line, as the SDK accepted
	r := newEventReader(context.Background(), iotest.OneByteReader(strings.NewReader(stream)))
	got, err := readAll(t, r)
	require.NoError(t, err)
	assert.Equal(t, []string{`{"a":1}`, "{\"b\":\n2}", `{"c":3}`, `{"d":4}`}, got)
}

func TestEventReader_ALineThatIsNoEventFieldIsAnError(t *testing.T) {
	r := newEventReader(context.Background(), strings.NewReader("data: {}\n\n{\"error\":{}}\n\n"))
	got, err := readAll(t, r)
	assert.Equal(t, []string{"{}"}, got)
	var notSSE *notSSEError
	require.ErrorAs(t, err, &notSSE)
	assert.Equal(t, `{"error":{}}`, string(notSSE.line), "kept, to be read as Google's error JSON")
}

func TestEventReader_ACancelledContextStopsEvenWithEventsBuffered(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := newEventReader(ctx, strings.NewReader("data: 1\n\ndata: 2\n\ndata: 3\n\n"))
	first, err := r.next()
	require.NoError(t, err)
	assert.Equal(t, "1", string(first))
	cancel()
	_, err = r.next()
	assert.True(t, errors.Is(err, context.Canceled), "got %v", err)
}

func TestTruncate_CutsOnARuneBoundary(t *testing.T) {
	assert.Equal(t, "ab", truncate("ab", 2))
	assert.Equal(t, "诗…", truncate("诗巴丹", 4), "巴 would be cut in half at 4 bytes")
}
