package handlers

// Operations: the endpoints and middleware an operator relies on, outside
// the API spec.
//
//	GET /healthz   200 while the process serves requests; no token
//	GET /readyz    200 when the store is reachable and migrated and, after a
//	               write failed for an outage, writable again; else 503
//	               with Retry-After; no token
//	GET /metrics   Prometheus metrics of this server (its own registry)
//
// Every request, whatever its route, gets an X-Request-ID (the client's,
// when sane, else a new UUID) echoed on its response, one JSON access-log
// line, and is counted in the metrics; a panic in a handler becomes a
// logged 500 JSON:API error.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/trace"

	"github.com/phoneapi/phoneapi/db"
)

// HeaderRequestID is the request id header, accepted and echoed.
const HeaderRequestID = "X-Request-ID"

// maxRequestIDLen is the longest client request id kept.
const maxRequestIDLen = 128

// readyTimeout bounds the store check of /readyz.
const readyTimeout = 2 * time.Second

// metrics are the Prometheus collectors of one server.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

// poolMetricser is implemented by stores that export their connection
// pools' statistics as Prometheus collectors, such as *db.Store (the
// go_sql_* metrics of client_golang's collectors.NewDBStatsCollector).
type poolMetricser interface {
	PoolCollectors() []prometheus.Collector
}

func newMetrics(store Store, version string) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "phoneapi_http_requests_total",
			Help: "HTTP requests served, by method, route template and status.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "phoneapi_http_request_duration_seconds",
			Help:    "HTTP request latency, by method, route template and status.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route", "status"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "phoneapi_http_requests_in_flight",
			Help: "HTTP requests being served.",
		}),
	}
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "phoneapi_build_info",
		Help:        "Build information; the value is always 1.",
		ConstLabels: prometheus.Labels{"version": version, "goversion": runtime.Version()},
	})
	build.Set(1)
	m.reg.MustRegister(m.requests, m.duration, m.inFlight, build,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if ps, ok := store.(poolMetricser); ok {
		m.reg.MustRegister(ps.PoolCollectors()...)
	}
	if cs, ok := store.(commitStatser); ok {
		m.reg.MustRegister(commitCollector{cs})
	}
	return m
}

// commitStatser is implemented by stores that batch their writes into
// group commits, such as *db.Store on SQLite (ok false otherwise).
type commitStatser interface {
	CommitStats() (commits, writes int64, ok bool)
}

// commitCollector exports the store's group-commit counters.
type commitCollector struct{ store commitStatser }

var (
	commitsDesc = prometheus.NewDesc("phoneapi_db_commits_total",
		"Write transactions committed (SQLite: group commits, each holding one or more writes).", nil, nil)
	writesDesc = prometheus.NewDesc("phoneapi_db_writes_committed_total",
		"Writes committed; divided by phoneapi_db_commits_total, the mean group-commit batch size.", nil, nil)
)

func (commitCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- commitsDesc
	ch <- writesDesc
}

func (c commitCollector) Collect(ch chan<- prometheus.Metric) {
	commits, writes, ok := c.store.CommitStats()
	if !ok {
		return
	}
	ch <- prometheus.MustNewConstMetric(commitsDesc, prometheus.CounterValue, float64(commits))
	ch <- prometheus.MustNewConstMetric(writesDesc, prometheus.CounterValue, float64(writes))
}

// useOps installs the operations middleware on e (request id, access log
// and metrics, panic recovery, outermost first) and registers /healthz,
// /readyz and /metrics. Call it before any other e.Use.
func (s *Server) useOps(e *echo.Echo, version string) {
	if version == "" {
		version = BuildVersion()
	}
	m := newMetrics(s.store, version)
	e.Use(requestID(s.requestIDs), s.observe(m), s.recoverPanics)

	both := []string{http.MethodGet, http.MethodHead}
	e.Match(both, "/healthz", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	})
	e.Match(both, "/readyz", s.readyz)
	e.Match(both, "/metrics", echo.WrapHandler(promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		Registry:          m.reg,
		ErrorLog:          slogPrinter{s.log},
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: false,
	})))
}

// BuildVersion returns the main module's version from the build
// information, or "dev" for a development build. It is the version
// phoneapi_build_info reports when Config.Version is empty.
func BuildVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "dev"
}

// readyz answers 200 when the store is ready (see db.Store.Ready), else
// 503 with Retry-After and what failed: the database "unreachable", "not
// migrated" or "not writable"; the error itself is logged, not sent.
func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), readyTimeout)
	defer cancel()
	err := s.store.Ready(ctx)
	if err == nil {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok", "database": "ok"})
	}
	state := "unreachable"
	switch {
	case errors.Is(err, db.ErrNotMigrated):
		state = "not migrated"
	case errors.Is(err, db.ErrNotWritable):
		state = "not writable"
	}
	s.log.Warn("not ready", "err", err, "request_id", RequestID(c))
	c.Response().Header().Set("Retry-After", strconv.Itoa(retryAfterOutage))
	return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "database": state})
}

// RequestID returns the request id of c, which the request id middleware
// set on the response's X-Request-ID header (read from there rather than
// kept twice: echo.Context.Set would make a map for every request).
func RequestID(c echo.Context) string {
	return c.Response().Header().Get(HeaderRequestID)
}

// requestID takes the client's X-Request-ID when sane (1 to 128 visible
// ASCII characters), else makes one with newID, and echoes it on the
// response.
func requestID(newID func(*http.Request) string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			id := c.Request().Header.Get(HeaderRequestID)
			if !saneRequestID(id) {
				id = newID(c.Request())
			}
			c.Response().Header().Set(HeaderRequestID, id)
			return next(c)
		}
	}
}

func saneRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

// observe writes one access-log line per request and records its metrics.
// Errors are rendered here (c.Error) so the status logged is the one sent.
// The route is Echo's route template, never the raw path or query, which
// may hold ids, tokens (access_token) or phone numbers.
func (s *Server) observe(m *metrics) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			m.inFlight.Inc()
			defer m.inFlight.Dec()
			method := metricMethod(c.Request().Method)
			var sp trace.Span
			if s.tracer != nil {
				sp = s.startSpan(c, method)
			}
			if err := next(c); err != nil {
				c.Error(err)
			}
			elapsed := time.Since(start)
			req, res := c.Request(), c.Response()
			route := c.Path()
			matched := route != ""
			if !matched {
				route = "unmatched"
			}
			status := res.Status
			if !res.Committed && status == 0 {
				status = http.StatusOK
			}
			code := strconv.Itoa(status)
			m.requests.WithLabelValues(method, route, code).Inc()
			m.duration.WithLabelValues(method, route, code).Observe(elapsed.Seconds())

			attrs := []slog.Attr{
				slog.String("method", method),
				slog.String("route", route),
				slog.Int("status", status),
				slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
				slog.Int64("bytes", res.Size),
				slog.String("request_id", RequestID(c)),
			}
			who, _ := req.Context().Value(callerKey{}).(caller)
			if who.UserID != "" {
				attrs = append(attrs, slog.String("user_id", who.UserID))
			}
			var sc trace.SpanContext
			if sp != nil {
				spanRoute := route
				if !matched {
					spanRoute = ""
				}
				endSpan(sp, c, method, spanRoute, status, who.UserID)
				sc = sp.SpanContext()
				attrs = append(attrs, slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
			} else if sc = incomingTrace(c); sc.IsValid() {
				attrs = append(attrs, slog.String("trace_id", sc.TraceID().String()))
			}
			level := slog.LevelInfo
			if status >= 500 {
				level = slog.LevelError
			}
			s.log.LogAttrs(req.Context(), level, "request", attrs...)
			return nil
		}
	}
}

// metricMethod bounds the method label to the standard methods.
func metricMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "OTHER"
}

// recoverPanics turns a panic in a handler into an error, which the error
// handler renders as a JSON:API 500, and logs it with its stack. The
// server keeps serving. http.ErrAbortHandler is re-raised, as net/http
// expects.
func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			r := recover()
			if r == nil {
				return
			}
			if r == http.ErrAbortHandler {
				panic(r)
			}
			s.log.Error("panic", "panic", fmt.Sprint(r), "route", c.Path(),
				"request_id", RequestID(c), "stack", string(debug.Stack()))
			err = &Error{Status: http.StatusInternalServerError, Detail: "an unexpected error occurred"}
		}()
		return next(c)
	}
}

// slogPrinter adapts a slog.Logger to promhttp's Logger.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Println(v ...any) { p.log.Error("metrics", "err", fmt.Sprint(v...)) }
