package handlers

import (
	"context"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
)

// withDeadline gives every request's context the deadline d: the store
// stops waiting then (see Config.RequestTimeout), and toErrors turns the
// context's error into a 503.
func withDeadline(d time.Duration) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ctx, cancel := context.WithTimeout(c.Request().Context(), d)
			defer cancel()
			c.SetRequest(c.Request().WithContext(ctx))
			return next(c)
		}
	}
}

// checkPathIDs answers 404 when an id in the path is not a UUID: such a path
// names no resource. It runs before authentication.
func checkPathIDs(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !pathIDsValid(c) {
			return echo.ErrNotFound
		}
		return next(c)
	}
}

// pathIDsValid reports whether every id in the request path is a UUID. On a
// route match Echo fills the parameters (the last one takes the rest of the
// path, so "<uuid>/extra" fails); on a 405 it leaves them empty and the
// route template is compared with the path segment by segment.
func pathIDsValid(c echo.Context) bool {
	if vals := c.ParamValues(); len(vals) > 0 {
		for _, v := range vals {
			if !isUUID(v) {
				return false
			}
		}
		return true
	}
	tmpl := strings.Split(c.Path(), "/")
	got := strings.Split(c.Request().URL.Path, "/")
	if len(tmpl) != len(got) {
		return !strings.Contains(c.Path(), "/:")
	}
	for i, seg := range tmpl {
		if strings.HasPrefix(seg, ":") && !isUUID(got[i]) {
			return false
		}
	}
	return true
}

// isUUID reports whether s is a UUID in the 8-4-4-4-12 hex form, any case.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	_, err := uuid.Parse(s)
	return err == nil
}

// negotiate enforces the JSON:API media type rules: a request body must be
// sent as application/vnd.api+json (a charset parameter is tolerated), else
// 415; Accept must be absent or allow application/vnd.api+json without
// media type parameters (directly or through a wildcard), else 406.
func negotiate(hasBody bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if hasBody && !contentTypeOK(req.Header.Get(echo.HeaderContentType)) {
				return &Error{Status: http.StatusUnsupportedMediaType,
					Detail: "request bodies must be sent with Content-Type: " + mediaType}
			}
			if !acceptOK(req.Header.Values(echo.HeaderAccept)) {
				return &Error{Status: http.StatusNotAcceptable,
					Detail: "this API only responds with " + mediaType + "; send Accept: " + mediaType + " or */*"}
			}
			return next(c)
		}
	}
}

func contentTypeOK(header string) bool {
	mt, params, err := mime.ParseMediaType(header)
	if err != nil || mt != mediaType {
		return false
	}
	for k := range params {
		if k != "charset" {
			return false
		}
	}
	return true
}

// acceptOK reports whether the Accept header values allow a JSON:API
// response: an entry of */*, application/* or application/vnd.api+json
// whose weight is not 0. A JSON:API entry that carries media type
// parameters (anything but q, e.g. ext, profile or charset) does not
// count, so Accept whose every JSON:API entry has parameters, and no
// wildcard, is 406, as JSON:API 1.0 requires.
func acceptOK(values []string) bool {
	if len(values) == 0 {
		return true
	}
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			mt, params, err := mime.ParseMediaType(part)
			if err != nil {
				continue
			}
			if q, ok := params["q"]; ok {
				if f, err := strconv.ParseFloat(q, 64); err == nil && f == 0 {
					continue
				}
			}
			switch mt {
			case "*/*", "application/*":
				return true
			case mediaType:
				if len(params) == 0 || (len(params) == 1 && params["q"] != "") {
					return true
				}
			}
		}
	}
	return false
}
