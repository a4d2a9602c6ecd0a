package handlers

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/phoneapi/phoneapi/db"
)

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// tracedAPI is an API whose handlers and store trace into an in-memory
// recorder and whose access log is kept.
type tracedAPI struct {
	*api
	rec *tracetest.SpanRecorder
	log *syncBuffer
}

// forEnginesTraced runs fn on both engines (see forEngines) with tracing
// on; wrap, if not nil, wraps the store.
func forEnginesTraced(t *testing.T, wrap func(*db.Store) Store, fn func(t *testing.T, a *tracedAPI)) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			base := engineStore(t, engine)
			rec := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
			base.SetTracerProvider(tp)
			var store Store = base
			if wrap != nil {
				store = wrap(base)
			}
			logs := &syncBuffer{}
			e, err := New(store, Config{Secret: testSecret, Logger: slog.New(slog.NewJSONHandler(logs, nil)), TracerProvider: tp})
			if err != nil {
				t.Fatal(err)
			}
			fn(t, &tracedAPI{api: &api{t: t, e: e, store: base}, rec: rec, log: logs})
		})
	}
}

// serverSpan returns the one ended server span of the request with the
// given X-Request-ID, and every ended span of its trace.
func (a *tracedAPI) serverSpan(t *testing.T, requestID string) (sdktrace.ReadOnlySpan, []sdktrace.ReadOnlySpan) {
	t.Helper()
	var found []sdktrace.ReadOnlySpan
	for _, s := range a.rec.Ended() {
		if s.SpanKind() == trace.SpanKindServer && attr(s, "phoneapi.request_id") == requestID {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("request %s: %d server spans, want 1", requestID, len(found))
	}
	var trace []sdktrace.ReadOnlySpan
	for _, s := range a.rec.Ended() {
		if s.SpanContext().TraceID() == found[0].SpanContext().TraceID() {
			trace = append(trace, s)
		}
	}
	return found[0], trace
}

// accessLog returns the access-log line of the request with the given
// X-Request-ID.
func (a *tracedAPI) accessLog(t *testing.T, requestID string) map[string]any {
	t.Helper()
	return findAccessLog(t, a.log.String(), requestID)
}

func findAccessLog(t *testing.T, logs, requestID string) map[string]any {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		if line["msg"] == "request" && line["request_id"] == requestID {
			return line
		}
	}
	t.Fatalf("no access-log line for request %s in\n%s", requestID, logs)
	return nil
}

// attr returns the string form of s's attribute key, "" when absent.
func attr(s sdktrace.ReadOnlySpan, key string) string {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value.Emit()
		}
	}
	return ""
}

// byName returns the spans named name.
func byName(spans []sdktrace.ReadOnlySpan, name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range spans {
		if s.Name() == name {
			out = append(out, s)
		}
	}
	return out
}

// childOf reports whether s's parent is p.
func childOf(s, p sdktrace.ReadOnlySpan) bool {
	return s.Parent().SpanID() == p.SpanContext().SpanID() && s.SpanContext().TraceID() == p.SpanContext().TraceID()
}

// TestTracing checks the spans of a write and a read, through the real
// Echo stack on both engines: one server span per request named after
// its route template, a child of the client's traceparent, with the
// user id; the store's child spans in the same trace, including the
// write's waits; the trace and span ids in the access log.
func TestTracing(t *testing.T) {
	forEnginesTraced(t, nil, func(t *testing.T, a *tracedAPI) {
		userID := uuid.NewString()
		tok, err := IssueToken(testSecret, userID, time.Hour, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		c := a.contact(tok)
		p := a.person(tok, c)
		const parentTrace, parentSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
		traceparent := "00-" + parentTrace + "-" + parentSpan + "-01"

		// A write, a child of the client's span.
		post := a.do(req{Method: "POST", Path: phonesPath(c, p), Token: tok,
			Body:   doc("phone_numbers", map[string]any{"number": "617-555-1212", "location": "mobile"}),
			Header: map[string]string{"traceparent": traceparent, HeaderRequestID: "trace-post"}})
		post.want(t, http.StatusCreated, "")
		srv, spans := a.serverSpan(t, "trace-post")
		if got, want := srv.Name(), "POST /api/v2/contacts/:contact_id/people/:person_id/phones"; got != want {
			t.Errorf("span name %q, want %q", got, want)
		}
		if srv.SpanContext().TraceID().String() != parentTrace || srv.Parent().SpanID().String() != parentSpan || !srv.Parent().IsRemote() {
			t.Errorf("server span %s, parent %s: not a child of the traceparent %s", srv.SpanContext().TraceID(), srv.Parent().SpanID(), traceparent)
		}
		for k, want := range map[string]string{
			"http.request.method": "POST", "http.route": "/api/v2/contacts/:contact_id/people/:person_id/phones",
			"http.response.status_code": "201", "enduser.id": userID, "url.scheme": "http",
		} {
			if got := attr(srv, k); got != want {
				t.Errorf("server span %s = %q, want %q", k, got, want)
			}
		}
		if srv.Status().Code != codes.Unset {
			t.Errorf("server span status %v, want unset", srv.Status())
		}
		system := map[string]string{"sqlite": "sqlite", "postgres": "postgresql"}[a.store.Engine()]
		ops := byName(spans, "CreatePhoneOnce")
		if len(ops) != 1 || !childOf(ops[0], srv) {
			t.Fatalf("want one CreatePhoneOnce span, a child of the server span; spans: %v", names(spans))
		}
		op := ops[0]
		if attr(op, "db.system.name") != system || attr(op, "db.operation.name") != "CreatePhoneOnce" || op.SpanKind() != trace.SpanKindClient {
			t.Errorf("CreatePhoneOnce span attributes %v, kind %v", op.Attributes(), op.SpanKind())
		}
		if system == "sqlite" {
			if q := byName(spans, "db.write.queue"); len(q) != 1 || !childOf(q[0], op) {
				t.Errorf("want one db.write.queue span, a child of CreatePhoneOnce; spans: %v", names(spans))
			}
			gc := byName(spans, "db.group_commit")
			if len(gc) != 1 || !childOf(gc[0], op) || attr(gc[0], "db.operation.batch.size") != "1" {
				t.Fatalf("want one db.group_commit span of batch size 1, a child of CreatePhoneOnce; spans: %v", names(spans))
			}
			if l := gc[0].Links(); len(l) != 1 || l[0].SpanContext.SpanID() != op.SpanContext().SpanID() {
				t.Errorf("db.group_commit links %v, want the write's span", l)
			}
		} else {
			for _, name := range []string{"db.lane.wait", "db.commit"} {
				if s := byName(spans, name); len(s) != 1 || !childOf(s[0], op) {
					t.Errorf("want one %s span, a child of CreatePhoneOnce; spans: %v", name, names(spans))
				}
			}
		}
		line := a.accessLog(t, "trace-post")
		if line["trace_id"] != parentTrace || line["span_id"] != srv.SpanContext().SpanID().String() {
			t.Errorf("access log trace_id %v span_id %v, want %s %s", line["trace_id"], line["span_id"], parentTrace, srv.SpanContext().SpanID())
		}

		// A read, in a new trace; its token in the query string.
		phone := post.id()
		get := a.do(req{Method: "GET", Path: phonesPath(c, p) + "/" + phone + "?access_token=" + tok,
			Header: map[string]string{HeaderRequestID: "trace-get"}})
		get.want(t, http.StatusOK, "")
		srv, spans = a.serverSpan(t, "trace-get")
		if srv.Parent().IsValid() || srv.SpanContext().TraceID().String() == parentTrace {
			t.Errorf("a request without traceparent has parent %v, trace %s", srv.Parent(), srv.SpanContext().TraceID())
		}
		if got, want := srv.Name(), "GET /api/v2/contacts/:contact_id/people/:person_id/phones/:id"; got != want {
			t.Errorf("span name %q, want %q", got, want)
		}
		if attr(srv, "enduser.id") != userID {
			t.Errorf("enduser.id %q, want %q", attr(srv, "enduser.id"), userID)
		}
		if s := byName(spans, "Phone"); len(s) != 1 || !childOf(s[0], srv) || attr(s[0], "db.system.name") != system {
			t.Errorf("want one Phone span, a child of the server span; spans: %v", names(spans))
		}
		if line := a.accessLog(t, "trace-get"); line["trace_id"] != srv.SpanContext().TraceID().String() {
			t.Errorf("access log trace_id %v, want %s", line["trace_id"], srv.SpanContext().TraceID())
		}

		// A client error is not a span error; nor is the store's not found.
		missing := a.do(req{Method: "GET", Path: phonesPath(c, p) + "/" + uuid.NewString(), Token: tok,
			Header: map[string]string{HeaderRequestID: "trace-404"}})
		missing.want(t, http.StatusNotFound, "")
		srv, spans = a.serverSpan(t, "trace-404")
		if attr(srv, "http.response.status_code") != "404" || srv.Status().Code != codes.Unset {
			t.Errorf("404: status code %q, span status %v", attr(srv, "http.response.status_code"), srv.Status())
		}
		for _, s := range spans {
			if s.Status().Code != codes.Unset {
				t.Errorf("404: span %s has status %v", s.Name(), s.Status())
			}
		}
		// No token: a 401 still has its span, without a user.
		anon := a.do(req{Method: "GET", Path: phonesPath(c, p), Header: map[string]string{HeaderRequestID: "trace-401"}})
		anon.want(t, http.StatusUnauthorized, "")
		if srv, _ := a.serverSpan(t, "trace-401"); attr(srv, "enduser.id") != "" || attr(srv, "http.response.status_code") != "401" {
			t.Errorf("401: attributes %v", srv.Attributes())
		}

		checkNoSecrets(t, a.rec.Ended(), tok, "617", "555-1212", "5551212", "access_token", "Bearer", "Doe", "Jane")
	})
}

// checkNoSecrets fails if any span's name, attribute, event, link or
// status holds one of the strings.
func checkNoSecrets(t *testing.T, spans []sdktrace.ReadOnlySpan, secrets ...string) {
	t.Helper()
	if len(spans) == 0 {
		t.Fatal("no spans")
	}
	for _, s := range spans {
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s", s.Name(), s.Status().Description)
		for _, kv := range s.Attributes() {
			fmt.Fprintf(&b, " %s=%s", kv.Key, kv.Value.Emit())
		}
		for _, e := range s.Events() {
			fmt.Fprintf(&b, " %s", e.Name)
			for _, kv := range e.Attributes {
				fmt.Fprintf(&b, " %s=%s", kv.Key, kv.Value.Emit())
			}
		}
		for _, l := range s.Links() {
			for _, kv := range l.Attributes {
				fmt.Fprintf(&b, " %s=%s", kv.Key, kv.Value.Emit())
			}
		}
		for _, secret := range secrets {
			if strings.Contains(b.String(), secret) {
				t.Errorf("span %s holds %q: %s", s.Name(), secret, b.String())
			}
		}
	}
}

func names(spans []sdktrace.ReadOnlySpan) []string {
	out := make([]string, len(spans))
	for i, s := range spans {
		out[i] = s.Name()
	}
	return out
}

// failingPhones is a store whose Phone fails as for a bug.
type failingPhones struct{ *db.Store }

func (failingPhones) Phone(context.Context, db.Scope, string) (db.Phone, error) {
	return db.Phone{}, errors.New("boom")
}

// TestTracingServerError checks that a 5xx is a span error.
func TestTracingServerError(t *testing.T) {
	wrap := func(s *db.Store) Store { return failingPhones{s} }
	forEnginesTraced(t, wrap, func(t *testing.T, a *tracedAPI) {
		tr := a.tree()
		r := a.do(req{Method: "GET", Path: tr.phonePath(), Token: tr.tok, Header: map[string]string{HeaderRequestID: "trace-500"}})
		r.want(t, http.StatusInternalServerError, "")
		srv, _ := a.serverSpan(t, "trace-500")
		if srv.Status().Code != codes.Error || attr(srv, "error.type") != "500" || attr(srv, "http.response.status_code") != "500" {
			t.Errorf("500: span status %v, attributes %v", srv.Status(), srv.Attributes())
		}
		checkNoSecrets(t, a.rec.Ended(), "boom", tr.tok)
	})
}

// TestTracingOffLogsIncomingTrace checks that with tracing off the access
// log names the trace of the client's traceparent, and nothing else.
func TestTracingOffLogsIncomingTrace(t *testing.T) {
	logs := &syncBuffer{}
	a := newAPI(t)
	e, err := New(a.store, Config{Secret: testSecret, Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	a.e = e
	const parentTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	a.get("GET", "/healthz", map[string]string{HeaderRequestID: "with", "traceparent": "00-" + parentTrace + "-00f067aa0ba902b7-01"})
	a.get("GET", "/healthz", map[string]string{HeaderRequestID: "without"})
	a.get("GET", "/healthz", map[string]string{HeaderRequestID: "bad", "traceparent": "00-nonsense"})
	if line := findAccessLog(t, logs.String(), "with"); line["trace_id"] != parentTrace || line["span_id"] != nil {
		t.Errorf("with traceparent: trace_id %v span_id %v, want %s and none", line["trace_id"], line["span_id"], parentTrace)
	}
	for _, id := range []string{"without", "bad"} {
		if line := findAccessLog(t, logs.String(), id); line["trace_id"] != nil || line["span_id"] != nil {
			t.Errorf("%s: trace_id %v span_id %v, want none", id, line["trace_id"], line["span_id"])
		}
	}
}
