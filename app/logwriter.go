package app

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// batchWriter collects log lines and writes them in batches: at most every
// interval, or when size bytes are waiting. One write(2) per request line
// was 4% of the CPU of a /health request under load; batched, a busy second
// costs a handful. Nothing waits on a timer when nothing is logged: the
// flush is scheduled by the write that finds the batch empty.
type batchWriter struct {
	mu       sync.Mutex
	out      io.Writer
	buf      []byte
	size     int
	interval time.Duration
	timer    *time.Timer // pending flush; nil when buf is empty
	closed   bool
}

func newBatchWriter(out io.Writer, interval time.Duration, size int) *batchWriter {
	return &batchWriter{out: out, size: size, interval: interval, buf: make([]byte, 0, size)}
}

// Write appends p (one whole log line: slog writes each record in one call).
func (b *batchWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return b.out.Write(p)
	}
	b.buf = append(b.buf, p...)
	if len(b.buf) >= b.size {
		return len(p), b.flushLocked()
	}
	if b.timer == nil {
		b.timer = time.AfterFunc(b.interval, func() { _ = b.Flush() })
	}
	return len(p), nil
}

// Flush writes whatever is waiting.
func (b *batchWriter) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.flushLocked()
}

func (b *batchWriter) flushLocked() error {
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	if len(b.buf) == 0 {
		return nil
	}
	_, err := b.out.Write(b.buf)
	b.buf = b.buf[:0]
	return err
}

// Close flushes and makes later writes go straight through.
func (b *batchWriter) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	return b.flushLocked()
}

// flushFrom writes a record at once, with everything batched before it,
// when its level is min or above: the lines an operator needs are never the
// ones left in a batch when a process dies.
type flushFrom struct {
	slog.Handler
	w   *batchWriter
	min slog.Level
}

func (h flushFrom) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= h.min {
		if ferr := h.w.Flush(); err == nil {
			err = ferr
		}
	}
	return err
}

func (h flushFrom) WithAttrs(attrs []slog.Attr) slog.Handler {
	return flushFrom{h.Handler.WithAttrs(attrs), h.w, h.min}
}

func (h flushFrom) WithGroup(name string) slog.Handler {
	return flushFrom{h.Handler.WithGroup(name), h.w, h.min}
}
