package main

import (
	"bytes"
	"io"
	"sync"
	"time"
)

// logFlushInterval is how long an access-log line may wait in a
// lineBuffer before it is written.
const logFlushInterval = 100 * time.Millisecond

// logBufferSize is how many bytes of access-log lines a lineBuffer holds
// before it writes them at once.
const logBufferSize = 64 << 10

// lineBuffer batches the access-log lines serve writes to its log, so a
// busy server makes one write system call per batch instead of one per
// request (pprof under load: about 3% of a GET's CPU went to those
// writes). An access-log line (slog's "msg":"request" at INFO, in JSON or
// text) waits at
// most logFlushInterval; any other line — startup, shutdown, errors,
// panics — is written at once, after the lines buffered before it, so the
// order is kept. Close writes what is left. If the process is killed, up
// to logFlushInterval of access-log lines can be lost, never another line.
type lineBuffer struct {
	mu   sync.Mutex
	w    io.Writer
	buf  []byte
	err  error // the first write error; later writes return it
	stop chan struct{}
	done chan struct{}
}

// newLineBuffer returns a lineBuffer writing to w; call Close when done.
func newLineBuffer(w io.Writer) *lineBuffer {
	b := &lineBuffer{w: w, buf: make([]byte, 0, logBufferSize), stop: make(chan struct{}), done: make(chan struct{})}
	go b.flushLoop()
	return b
}

// accessLines mark an access-log line in the JSON and the text format.
var accessLines = [][]byte{[]byte(`"level":"INFO","msg":"request"`), []byte(` level=INFO msg=request `)}

// isAccessLine reports whether p is an access-log line in either format.
func isAccessLine(p []byte) bool {
	for _, m := range accessLines {
		if bytes.Contains(p, m) {
			return true
		}
	}
	return false
}

// Write buffers p, one or more whole lines from slog, or writes it at once
// with what is buffered when it is not an access-log line.
func (b *lineBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return 0, b.err
	}
	b.buf = append(b.buf, p...)
	if !isAccessLine(p) || len(b.buf) >= logBufferSize {
		b.flushLocked()
	}
	if b.err != nil {
		return 0, b.err
	}
	return len(p), nil
}

func (b *lineBuffer) flushLocked() {
	if len(b.buf) == 0 || b.err != nil {
		return
	}
	_, b.err = b.w.Write(b.buf)
	b.buf = b.buf[:0]
}

func (b *lineBuffer) flushLoop() {
	defer close(b.done)
	t := time.NewTicker(logFlushInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			b.mu.Lock()
			b.flushLocked()
			b.mu.Unlock()
		case <-b.stop:
			return
		}
	}
}

// Close stops the background flushes and writes what is buffered.
func (b *lineBuffer) Close() error {
	close(b.stop)
	<-b.done
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushLocked()
	return b.err
}
