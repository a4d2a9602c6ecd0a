package db

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Tracing (OpenTelemetry). Off by default: without SetTracerProvider, or
// with a nil or no-op provider, the store starts no spans and costs
// nothing. On, every operation the handlers call is a span (kind client,
// named after the Store method: "Phone", "UpdatePhone", ...) with the
// attributes db.system.name ("sqlite" or "postgresql") and
// db.operation.name (the same method name), a child of the span in its
// context. Write transactions add child spans for their waits:
//
//   - SQLite: "db.write.queue", the wait of one write for the group
//     committer, including the batch's wait for the database's write lock
//     (it ends when the write starts); and "db.group_commit", one per
//     batch, the transaction that runs the batch's writes and its commit,
//     with db.operation.batch.size and a link to every write's span. It is
//     a child of the batch's first write, so a request's trace holds it
//     when the request was alone or first; the others link to it by the
//     event "db.group_commit" on their own span.
//   - PostgreSQL: "db.lane.wait", the wait for this process's earlier
//     writes of the account list (lanes); "db.commit", the round trip of
//     the writes still queued and COMMIT. The account list's lock is sent
//     with the transaction's first query, so its wait is in the
//     operation's span.
//
// No span holds SQL parameters (phone numbers, names), SQL text or error
// messages: an operation that fails for an outage or a bug has status
// Error and error.type, a short class ("unavailable", "uncertain",
// "context", "other"); the expected outcomes (not found, forbidden,
// conflict, stale precondition, invalid query or text) are not errors
// and are left unmarked.

// tracerName is the instrumentation scope of the store's spans.
const tracerName = "github.com/phoneapi/phoneapi/db"

// tracing is the store's tracer; nil when tracing is off.
type tracing struct {
	t      trace.Tracer
	system attribute.KeyValue // db.system.name
}

// SetTracerProvider makes the store trace its operations with tp (see
// above); nil or a no-op provider turns tracing off. Call it before the
// Store is in use.
func (s *Store) SetTracerProvider(tp trace.TracerProvider) {
	s.tr = newTracing(tp, s.d)
	if s.commits != nil {
		s.commits.tr = s.tr
	}
}

func newTracing(tp trace.TracerProvider, d *dialect) *tracing {
	if tp == nil {
		return nil
	}
	if _, ok := tp.(noop.TracerProvider); ok {
		return nil
	}
	system := "sqlite"
	if d.name == "postgres" {
		system = "postgresql"
	}
	return &tracing{t: tp.Tracer(tracerName), system: attribute.String("db.system.name", system)}
}

// span is a span of the store, or nothing when tracing is off: its
// methods are then no-ops.
type span struct{ s trace.Span }

// start starts the span of the store operation op, a child of ctx's span,
// and returns a context holding it. Off, it returns ctx unchanged.
func (t *tracing) start(ctx context.Context, op string) (context.Context, span) {
	if t == nil {
		return ctx, span{}
	}
	ctx, sp := t.t.Start(ctx, op, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(t.system, attribute.String("db.operation.name", op)))
	return ctx, span{sp}
}

// startWait starts a span named name for a wait inside an operation.
func (t *tracing) startWait(ctx context.Context, name string) span {
	if t == nil {
		return span{}
	}
	_, sp := t.t.Start(ctx, name, trace.WithAttributes(t.system))
	return span{sp}
}

// end ends the span, marking it failed when *errp is an unexpected error
// (see errorType). errp may be nil.
func (sp span) end(errp *error) {
	if sp.s == nil {
		return
	}
	if errp != nil {
		if class := errorType(*errp); class != "" {
			sp.s.SetAttributes(attribute.String("error.type", class))
			sp.s.SetStatus(codes.Error, "")
		}
	}
	sp.s.End()
}

// errorType returns the class of err for error.type, or "" when err is
// nil or an expected outcome. Never the message: it may quote values.
func errorType(err error) string {
	var se *ScopeError
	switch {
	case err == nil, errors.As(err, &se),
		errors.Is(err, ErrNotFound), errors.Is(err, ErrForbidden), errors.Is(err, ErrConflict),
		errors.Is(err, ErrStale), errors.Is(err, ErrInvalidQuery), errors.Is(err, ErrInvalidText):
		return ""
	case errors.Is(err, ErrUnavailable):
		return "unavailable"
	case errors.Is(err, ErrUncertain):
		return "uncertain"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "context"
	}
	return "other"
}

// startBatch starts the span of a group commit of batch (SQLite): a child
// of the first write's span, linking every write's span, each of which
// gets the event "db.group_commit" with the batch's size.
func (t *tracing) startBatch(batch []*writeReq) span {
	if t == nil || len(batch) == 0 {
		return span{}
	}
	size := attribute.Int("db.operation.batch.size", len(batch))
	links := make([]trace.Link, 0, len(batch))
	for _, r := range batch {
		if sc := trace.SpanContextFromContext(r.ctx); sc.IsValid() {
			links = append(links, trace.Link{SpanContext: sc})
		}
	}
	_, sp := t.t.Start(batch[0].ctx, "db.group_commit", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithLinks(links...), trace.WithAttributes(t.system, size))
	for _, r := range batch {
		trace.SpanFromContext(r.ctx).AddEvent("db.group_commit", trace.WithAttributes(size))
	}
	return span{sp}
}
