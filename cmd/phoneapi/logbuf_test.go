package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/phoneapi/phoneapi/db/dbtest"
)

const (
	reqLine = `{"time":"t","level":"INFO","msg":"request","status":200}` + "\n"
	errLine = `{"time":"t","level":"ERROR","msg":"internal error"}` + "\n"
	infLine = `{"time":"t","level":"INFO","msg":"listening"}` + "\n"
)

// TestLineBuffer: access-log lines wait, at most about logFlushInterval;
// other lines are written at once, after what was buffered; Close writes
// the rest.
func TestLineBuffer(t *testing.T) {
	var out dbtest.Buffer
	b := newLineBuffer(&out)

	b.Write([]byte(infLine))
	if got := out.String(); got != infLine {
		t.Fatalf("after a startup line: %q, want it written at once", got)
	}
	b.Write([]byte(reqLine))
	if got := out.String(); got != infLine {
		t.Fatalf("after an access-log line: %q, want it buffered", got)
	}
	b.Write([]byte(errLine))
	if got, want := out.String(), infLine+reqLine+errLine; got != want {
		t.Fatalf("after an error line: %q, want %q (in order)", got, want)
	}
	b.Write([]byte(reqLine))
	deadline := time.Now().Add(20 * logFlushInterval)
	for out.String() != infLine+reqLine+errLine+reqLine {
		if time.Now().After(deadline) {
			t.Fatalf("access-log line not flushed within %s: %q", 20*logFlushInterval, out.String())
		}
		time.Sleep(logFlushInterval / 10)
	}
	b.Write([]byte(reqLine))
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(out.String(), reqLine); got != 3 {
		t.Errorf("after Close: %d access-log lines, want 3", got)
	}
}

// TestLineBufferFull: a full buffer is written without waiting.
func TestLineBufferFull(t *testing.T) {
	var out dbtest.Buffer
	b := newLineBuffer(&out)
	defer b.Close()
	n := logBufferSize/len(reqLine) + 1
	for range n {
		b.Write([]byte(reqLine))
	}
	if got := strings.Count(out.String(), reqLine); got < n-1 {
		t.Errorf("%d of %d lines written with a full buffer, want all but at most one", got, n)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestLineBufferError: a write error is returned, then by every later call.
func TestLineBufferError(t *testing.T) {
	b := newLineBuffer(failWriter{})
	if _, err := b.Write([]byte(errLine)); err == nil {
		t.Error("Write: no error from a failing writer")
	}
	if _, err := b.Write([]byte(reqLine)); err == nil {
		t.Error("second Write: no error")
	}
	if err := b.Close(); err == nil {
		t.Error("Close: no error")
	}
}

// TestLineBufferFormats: slog's access-log line is buffered and another
// line written at once in both log formats.
func TestLineBufferFormats(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			var out dbtest.Buffer
			b := newLineBuffer(&out)
			defer b.Close()
			log := (&logOptions{level: "info", format: format}).logger(b)
			log.Info("request", "method", "GET", "status", 200)
			if got := out.String(); got != "" {
				t.Fatalf("access-log line written at once: %q, want it buffered", got)
			}
			log.Info("listening", "addr", "x")
			if got := out.String(); !strings.Contains(got, "request") || !strings.Contains(got, "listening") {
				t.Fatalf("after a startup line: %q, want both lines written", got)
			}
		})
	}
}
