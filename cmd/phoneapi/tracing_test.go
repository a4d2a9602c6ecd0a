package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestTraceConfigRefused checks that a bad OTEL_* setting is refused with
// exit 2, naming the variable, before the database is created.
func TestTraceConfigRefused(t *testing.T) {
	tests := []struct{ env, value string }{
		{"OTEL_TRACES_EXPORTER", "jaeger"},
		{"OTEL_TRACES_EXPORTER", "otlp,console"},
		{"OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"},
		{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "udp"},
		{"OTEL_SDK_DISABLED", "yes"},
	}
	for _, tt := range tests {
		t.Run(tt.env+"="+tt.value, func(t *testing.T) {
			dbPath := filepath.Join(t.TempDir(), "api.db")
			getenv := env(map[string]string{"PHONEAPI_DB": dbPath, "OTEL_TRACES_EXPORTER": "console", tt.env: tt.value})
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0"}, getenv, &stdout, &stderr)
			if code := exitCode(err, &stderr); code != 2 {
				t.Fatalf("exit code %d, want 2 (stderr %q)", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.env+": \""+tt.value+"\"") {
				t.Errorf("stderr %q does not name %s and its value", stderr.String(), tt.env)
			}
			if _, err := os.Stat(dbPath); !os.IsNotExist(err) {
				t.Errorf("the database was touched: %v", err)
			}
		})
	}
}

func TestTraceConfig(t *testing.T) {
	tests := []struct {
		env      map[string]string
		exporter string
		service  string
	}{
		{nil, "", "phoneapi"},
		{map[string]string{"OTEL_TRACES_EXPORTER": "none"}, "", "phoneapi"},
		{map[string]string{"OTEL_TRACES_EXPORTER": "console", "OTEL_SERVICE_NAME": "api-eu"}, "console", "api-eu"},
		{map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "otlp", "phoneapi"},
		{map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"}, "", "phoneapi"},
	}
	for _, tt := range tests {
		got, err := traceConfig("serve", env(tt.env))
		if err != nil || got.exporter != tt.exporter || got.service != tt.service {
			t.Errorf("%v: %+v, %v; want exporter %q, service %q", tt.env, got, err, tt.exporter, tt.service)
		}
		tp, stop, err := got.provider(context.Background(), "v1", nil)
		if err != nil || (tp == nil) != (tt.exporter == "") {
			t.Errorf("%v: provider %v, %v", tt.env, tp, err)
		}
		if stop != nil {
			stop() //nolint:errcheck // nothing to flush
		}
	}
}

// lockedBuffer is a bytes.Buffer safe for concurrent use.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestServeConsoleTracing runs serve with OTEL_TRACES_EXPORTER=console
// and without: with it, a request's span is on standard output once
// serve has stopped (flushed at shutdown), in the client's trace, with
// the service's name; without it, standard output stays empty.
func TestServeConsoleTracing(t *testing.T) {
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	for _, exporter := range []string{"console", ""} {
		t.Run("OTEL_TRACES_EXPORTER="+exporter, func(t *testing.T) {
			getenv := serveEnv(t, map[string]string{"OTEL_TRACES_EXPORTER": exporter, "PHONEAPI_LOG_LEVEL": "info"})
			var stdout, stderr lockedBuffer
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0"}, getenv, &stdout, &stderr) }()
			addr := regexp.MustCompile(`"addr":"(http://[^"]+)"`)
			var base string
			for deadline := time.Now().Add(15 * time.Second); base == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				if m := addr.FindStringSubmatch(stderr.String()); m != nil {
					base = m[1]
				}
			}
			if base == "" {
				cancel()
				t.Fatalf("serve did not log its address: %s", stderr.String())
			}
			req, _ := http.NewRequest("GET", base+"/healthz", nil)
			req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("serve: %v", err)
			}
			out := stdout.String()
			if exporter == "" {
				if out != "" {
					t.Errorf("stdout without tracing: %q", out)
				}
				return
			}
			var span struct {
				Name        string
				SpanContext struct{ TraceID string }
				Resource    []struct {
					Key   string
					Value struct{ Value any }
				}
			}
			if err := json.NewDecoder(strings.NewReader(out)).Decode(&span); err != nil {
				t.Fatalf("stdout is not a span: %v\n%s", err, out)
			}
			if span.Name != "GET /healthz" || span.SpanContext.TraceID != traceID {
				t.Errorf("span %q in trace %s, want GET /healthz in %s", span.Name, span.SpanContext.TraceID, traceID)
			}
			res0 := map[string]any{}
			for _, kv := range span.Resource {
				res0[kv.Key] = kv.Value.Value
			}
			if res0["service.name"] != "phoneapi" || res0["service.version"] == nil {
				t.Errorf("resource %v lacks service.name phoneapi or service.version", res0)
			}
		})
	}
}
