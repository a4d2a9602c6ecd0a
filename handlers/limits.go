package handlers

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"
)

// Defaults of the per-user rate limit (Config.RateLimit, Config.RateBurst).
const (
	DefaultRateLimit = 50  // requests per second per user
	DefaultRateBurst = 100 // requests a user may send at once
)

// maxJSONDepth is the deepest nesting of arrays and objects accepted in a
// request body. A JSON:API request document needs 3 (document, data,
// attributes); the rest is headroom.
const maxJSONDepth = 32

// MaxHeaderBytes is the most a request's header fields may hold, each
// counted as its name, its value and 4 bytes (": " and CRLF), Host
// included: above it, limitHeaderBytes answers a JSON:API 431.
const MaxHeaderBytes = 64 << 10

// HTTPMaxHeaderBytes is the http.Server.MaxHeaderBytes to serve the API
// with: above MaxHeaderBytes, so that requests just over the limit reach
// limitHeaderBytes and get a JSON:API 431, and bounded, so that a client
// cannot make the server buffer more. A request line and header fields
// larger than it (plus Go's 4 KiB of buffer slack) are refused by Go's
// server itself, with a plain-text 431 this package cannot change.
const HTTPMaxHeaderBytes = 256 << 10

// limitHeaderBytes answers 431, with source.header naming the largest
// field, when the request's header fields hold more than MaxHeaderBytes.
func limitHeaderBytes(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		total, largest, largestSize := 0, "", 0
		count := func(name string, size int) {
			total += size
			if size > largestSize {
				largest, largestSize = name, size
			}
		}
		if req.Host != "" {
			count("Host", len("Host")+len(req.Host)+4)
		}
		for name, values := range req.Header {
			size := 0
			for _, v := range values {
				size += len(name) + len(v) + 4
			}
			count(name, size)
		}
		if total > MaxHeaderBytes {
			return &Error{Status: http.StatusRequestHeaderFieldsTooLarge, Header: largest,
				Detail: fmt.Sprintf("the request's header fields hold %d bytes, more than %d", total, MaxHeaderBytes)}
		}
		return next(c)
	}
}

// rateLimiter is a token bucket per user id. Buckets idle long enough to have
// filled up again are dropped (a full bucket is the same as a new one), so
// memory is bounded by the users active within one refill period.
type rateLimiter struct {
	limit rate.Limit
	burst int
	now   func() time.Time

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	last time.Time // of the last request
}

// sweepEvery is how often, at most, idle buckets are looked for; sweepAbove
// forces a sweep when the map grows past it sooner.
const (
	sweepEvery = time.Minute
	sweepAbove = 1 << 16
)

// newRateLimiter returns a limiter of perSecond requests a second with bursts
// of burst per key, or nil (no limit) when perSecond is not positive.
func newRateLimiter(perSecond float64, burst int, now func() time.Time) *rateLimiter {
	if perSecond <= 0 || math.IsNaN(perSecond) {
		return nil
	}
	if burst < 1 {
		burst = 1
	}
	if now == nil {
		now = time.Now
	}
	return &rateLimiter{limit: rate.Limit(perSecond), burst: burst, now: now, buckets: map[string]*bucket{}}
}

// reset empties every bucket (a sandbox reset); l may be nil.
func (l *rateLimiter) reset() {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	clear(l.buckets)
}

// refill is how long an empty bucket takes to fill up.
func (l *rateLimiter) refill() time.Duration {
	return time.Duration(float64(l.burst) / float64(l.limit) * float64(time.Second))
}

// allow takes a token from key's bucket. When there is none it returns false
// and how long until there will be one.
func (l *rateLimiter) allow(key string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) >= sweepEvery || len(l.buckets) >= sweepAbove {
		l.sweep(now)
	}
	b := l.buckets[key]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(l.limit, l.burst)}
		l.buckets[key] = b
	}
	b.last = now
	r := b.lim.ReserveN(now, 1)
	if !r.OK() {
		return false, l.refill()
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now) // a refused request costs nothing
		return false, d
	}
	return true, 0
}

// sweep drops the buckets idle for a whole refill period: they are full.
func (l *rateLimiter) sweep(now time.Time) {
	l.lastSweep = now
	idle := l.refill()
	for k, b := range l.buckets {
		if now.Sub(b.last) > idle {
			delete(l.buckets, k)
		}
	}
}

// size is the number of buckets held (for tests).
func (l *rateLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// rateLimit answers 429 with Retry-After (whole seconds, at least 1) when the
// authenticated caller has no token left. It runs right after authenticate.
func (s *Server) rateLimit(next echo.HandlerFunc) echo.HandlerFunc {
	if s.limiter == nil {
		return next
	}
	return func(c echo.Context) error {
		ok, wait := s.limiter.allow(callerFrom(c.Request().Context()).UserID)
		if !ok {
			secs := int64(math.Ceil(wait.Seconds()))
			if secs < 1 {
				secs = 1
			}
			c.Response().Header().Set("Retry-After", strconv.FormatInt(secs, 10))
			return &Error{Status: http.StatusTooManyRequests,
				Detail: fmt.Sprintf("too many requests; retry after %d s", secs)}
		}
		return next(c)
	}
}

// checkQueryLengths enforces the maxLength the spec gives a query parameter
// before any parser looks at (and might quote) its value: 400 with
// source.parameter.
func checkQueryLengths(rt *routers.Route, q url.Values) error {
	if len(q) == 0 {
		return nil
	}
	var errs Errors
	check := func(params openapi3.Parameters) {
		for _, ref := range params {
			p := ref.Value
			if p == nil || p.In != openapi3.ParameterInQuery || p.Schema == nil || p.Schema.Value == nil || p.Schema.Value.MaxLength == nil {
				continue
			}
			max := *p.Schema.Value.MaxLength
			for _, v := range q[p.Name] {
				if uint64(utf8.RuneCountInString(v)) > max {
					errs = append(errs, &Error{Status: http.StatusBadRequest, Parameter: p.Name,
						Detail: fmt.Sprintf("%s must be at most %d characters", p.Name, max)})
					break
				}
			}
		}
	}
	check(rt.PathItem.Parameters)
	check(rt.Operation.Parameters)
	if len(errs) > 0 {
		return errs
	}
	return nil
}
