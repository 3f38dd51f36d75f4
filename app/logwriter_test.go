package app

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// countingWriter records each Write call the batch makes.
type countingWriter struct {
	mu     sync.Mutex
	writes int
	buf    bytes.Buffer
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes++
	return w.buf.Write(p)
}

func (w *countingWriter) state() (int, string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writes, w.buf.String()
}

func TestServeLogger_BatchesInfoLinesIntoOneWrite(t *testing.T) {
	out := &countingWriter{}
	bw := newBatchWriter(out, time.Hour, 1<<20) // only Close flushes
	log := slog.New(flushFrom{slog.NewJSONHandler(bw, nil), bw, slog.LevelWarn})
	for i := range 100 {
		log.Info("request", "n", i)
	}
	writes, _ := out.state()
	assert.Zero(t, writes, "nothing is written before the batch is due")
	require.NoError(t, bw.Close())
	writes, text := out.state()
	assert.Equal(t, 1, writes)
	assert.Equal(t, 100, strings.Count(text, `"msg":"request"`))
}

func TestServeLogger_WritesWarningsAtOnceWithTheLinesBeforeThem(t *testing.T) {
	out := &countingWriter{}
	bw := newBatchWriter(out, time.Hour, 1<<20)
	log := slog.New(flushFrom{slog.NewJSONHandler(bw, nil), bw, slog.LevelWarn}).With("component", "test")
	log.Info("first")
	log.Warn("database unavailable")
	writes, text := out.state()
	assert.Equal(t, 1, writes)
	assert.Less(t, strings.Index(text, "first"), strings.Index(text, "database unavailable"), "in order")
	require.NoError(t, bw.Close())
}

func TestServeLogger_FlushesWithinTheIntervalAndWhenTheBatchIsFull(t *testing.T) {
	out := &countingWriter{}
	bw := newBatchWriter(out, 20*time.Millisecond, 1<<20)
	_, _ = bw.Write([]byte("one\n"))
	require.Eventually(t, func() bool { _, s := out.state(); return s == "one\n" }, 5*time.Second, 5*time.Millisecond)

	full := &countingWriter{}
	small := newBatchWriter(full, time.Hour, 8)
	_, _ = small.Write([]byte("12345\n"))
	_, _ = small.Write([]byte("67890\n")) // reaches 8 bytes
	writes, text := full.state()
	assert.Equal(t, 1, writes)
	assert.Equal(t, "12345\n67890\n", text)

	require.NoError(t, small.Close())
	_, _ = small.Write([]byte("after close\n"))
	_, text = full.state()
	assert.Contains(t, text, "after close", "a closed batch writes straight through")
	require.NoError(t, bw.Close())
}

func TestServeLoggers_ProcessLinesAreWrittenAtOnceAfterTheRequestLinesBeforeThem(t *testing.T) {
	out := &countingWriter{}
	log, access, flush := newServeLoggers(AppConfig{LogFormat: "json"}, out)
	access.Info("request", "path", "/health")
	writes, _ := out.state()
	assert.Zero(t, writes, "a request line waits for its batch")
	log.Info("database: ready")
	writes, text := out.state()
	assert.Equal(t, 1, writes)
	assert.Less(t, strings.Index(text, "/health"), strings.Index(text, "database: ready"), "in order")
	require.NoError(t, flush())
}
