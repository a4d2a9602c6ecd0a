package handlers

// Tracing (OpenTelemetry), off unless Config.TracerProvider is a real
// provider. On, the ops middleware (observe, the outermost) starts one
// server span per request, so that it covers every check, auth and
// validation errors included:
//
//   - name "METHOD /route/template", Echo's route template as the metrics
//     and the access log have it (GET /contacts/:contact_id/phones/:id);
//     just "METHOD" when no route matched;
//   - a child of the client's span when the request has a W3C traceparent
//     header (propagation.TraceContext), else a new trace;
//   - attributes http.request.method, http.route, url.scheme,
//     user_agent.original, http.response.status_code, phoneapi.request_id
//     (the X-Request-ID answered), and enduser.id, the user id of the
//     token, once authentication succeeded;
//   - status Error, with error.type the status code, for 5xx only (4xx
//     are the client's errors: OTel's semantic conventions for server
//     spans).
//
// Never recorded: the raw path or the query string (access_token, phone
// numbers in filters), any header but User-Agent (Authorization!), and
// bodies. The store's spans (db/trace.go) are children of this one.

import (
	"context"
	"strconv"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// tracerName is the instrumentation scope of the request spans.
const tracerName = "github.com/phoneapi/phoneapi/handlers"

// traceContext reads the W3C traceparent and tracestate headers.
var traceContext propagation.TraceContext

// newTracer returns tp's tracer, or nil when tp is nil or a no-op
// provider: tracing is off.
func newTracer(tp trace.TracerProvider) trace.Tracer {
	if tp == nil {
		return nil
	}
	if _, ok := tp.(noop.TracerProvider); ok {
		return nil
	}
	return tp.Tracer(tracerName)
}

// spanMethod returns the span name's method and http.request.method:
// OTHER (see metricMethod) is "HTTP" and "_OTHER".
func spanMethod(method string) (name, attr string) {
	if method == "OTHER" {
		return "HTTP", "_OTHER"
	}
	return method, method
}

// startSpan starts the span of the request of c, whose method is method
// (metricMethod's), and puts it in the request's context. The route may
// still be empty; endSpan names it again.
func (s *Server) startSpan(c echo.Context, method string) trace.Span {
	req := c.Request()
	ctx := traceContext.Extract(req.Context(), propagation.HeaderCarrier(req.Header))
	name, attr := spanMethod(method)
	if route := c.Path(); route != "" {
		name += " " + route
	}
	attrs := []attribute.KeyValue{
		attribute.String("http.request.method", attr),
		attribute.String("url.scheme", c.Scheme()),
	}
	if ua := req.UserAgent(); ua != "" {
		attrs = append(attrs, attribute.String("user_agent.original", ua))
	}
	ctx, sp := s.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
	c.SetRequest(req.WithContext(ctx))
	return sp
}

// endSpan records the outcome of the request on sp and ends it. route is
// "" when no route matched.
func endSpan(sp trace.Span, c echo.Context, method, route string, status int, userID string) {
	name, _ := spanMethod(method)
	attrs := make([]attribute.KeyValue, 0, 4)
	if route != "" {
		name += " " + route
		attrs = append(attrs, attribute.String("http.route", route))
	}
	sp.SetName(name)
	attrs = append(attrs, attribute.Int("http.response.status_code", status),
		attribute.String("phoneapi.request_id", RequestID(c)))
	if userID != "" {
		attrs = append(attrs, attribute.String("enduser.id", userID))
	}
	sp.SetAttributes(attrs...)
	if status >= 500 {
		sp.SetAttributes(attribute.String("error.type", strconv.Itoa(status)))
		sp.SetStatus(codes.Error, "")
	}
	sp.End()
}

// incomingTrace returns the span context of the request's traceparent
// header, if it has a valid one: with tracing off, the access log still
// names the client's trace.
func incomingTrace(c echo.Context) trace.SpanContext {
	req := c.Request()
	if len(req.Header["Traceparent"]) == 0 { // canonical key: Get would allocate it for every request
		return trace.SpanContext{}
	}
	return trace.SpanContextFromContext(traceContext.Extract(context.Background(), propagation.HeaderCarrier(req.Header)))
}
