package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/phoneapi/phoneapi/db"
	"github.com/phoneapi/phoneapi/generated"
)

// Error is one JSON:API error with its HTTP status. Handlers and middleware
// return it (or Errors); errorHandler, through toErrors and document,
// turns it into the error document sent.
type Error struct {
	Status    int
	Detail    string
	Pointer   string // JSON pointer into the request document, if any
	Parameter string // query parameter at fault, if any
	Header    string // request header at fault, if any
	Meta      map[string]any
	// RetryAfter, when positive, is sent as the Retry-After header (whole
	// seconds).
	RetryAfter int
}

func (e *Error) Error() string {
	return fmt.Sprintf("%d %s", e.Status, e.Detail)
}

// Errors is several problems found in one request; they share a status.
type Errors []*Error

func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

func errBadRequest(pointer, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Pointer: pointer, Detail: fmt.Sprintf(format, args...)}
}

func errConflict(pointer, format string, args ...any) *Error {
	return &Error{Status: http.StatusConflict, Pointer: pointer, Detail: fmt.Sprintf(format, args...)}
}

func errNotFound(format string, args ...any) *Error {
	return &Error{Status: http.StatusNotFound, Detail: fmt.Sprintf(format, args...)}
}

func errForbidden(format string, args ...any) *Error {
	return &Error{Status: http.StatusForbidden, Detail: fmt.Sprintf(format, args...)}
}

// Retry-After of the 503s: a request that reached its deadline (the
// database was busy) may succeed at once; an outage takes longer.
const (
	retryAfterDeadline = 1
	retryAfterOutage   = 5
)

// toErrors maps any error a handler or middleware returns to the JSON:API
// errors to send. This is the one place where errors become statuses.
// timeout is the request deadline, for the 503 of a request that reached it.
func toErrors(err error, timeout time.Duration, log *slog.Logger) Errors {
	var (
		apiErr  *Error
		apiErrs Errors
		stale   *db.StaleError
		text    *db.TextError
		scope   *db.ScopeError
		httpErr *echo.HTTPError
	)
	switch {
	case errors.As(err, &apiErrs):
		return apiErrs
	case errors.As(err, &apiErr):
		return Errors{apiErr}
	case errors.Is(err, db.ErrUncertain):
		log.Error("commit not confirmed", "err", err)
		return Errors{errUnavailable(retryAfterOutage,
			"the database did not confirm the write: it may or may not have been applied; read the resource before writing again")}
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		log.Warn("request deadline", "err", err)
		return Errors{errUnavailable(retryAfterDeadline,
			"the request did not complete within %s (the database was busy); nothing was written; retry later", timeout)}
	case errors.Is(err, db.ErrUnavailable):
		log.Error("database unavailable", "err", err)
		return Errors{errUnavailable(retryAfterOutage, "the database is unavailable; nothing was written; retry later")}
	case errors.Is(err, db.ErrKeyReused):
		return Errors{{Status: http.StatusUnprocessableEntity, Header: headerIdempotencyKey, Parameter: headerIdempotencyKey,
			Detail: "this Idempotency-Key was used for another request (another path, query string or body); send a new key for a new request"}}
	case errors.Is(err, db.ErrKeyInProgress):
		return Errors{{Status: http.StatusConflict, Header: headerIdempotencyKey, Parameter: headerIdempotencyKey, RetryAfter: retryAfterInProgress,
			Detail: "a request with this Idempotency-Key is still being answered; retry after Retry-After seconds"}}
	case errors.As(err, &scope):
		return Errors{scopeError(scope)}
	case errors.As(err, &stale) && stale.Ambiguous:
		return Errors{errStale("updated_in_db_at, sent with less than millisecond precision, names more than one version of the resource; fetch the resource and retry with its updated_in_db_at to the millisecond, or send overwrite: true", formatTime(stale.Current))}
	case errors.As(err, &stale):
		return Errors{errStale("updated_in_db_at does not match the stored value; fetch the resource and retry, or send overwrite: true", formatTime(stale.Current))}
	case errors.As(err, &text):
		return Errors{textError(text)}
	case errors.Is(err, db.ErrNotFound):
		return Errors{errNotFound("the resource was not found")}
	case errors.Is(err, db.ErrConflict):
		return Errors{errConflict("/data/id", "a resource with this id already exists")}
	case errors.As(err, &httpErr):
		e := &Error{Status: httpErr.Code, Detail: http.StatusText(httpErr.Code)}
		switch httpErr.Code {
		case http.StatusNotFound:
			e.Detail = "route not found"
		case http.StatusMethodNotAllowed:
			e.Detail = "this method is not allowed on this path; see the Allow header"
		case http.StatusRequestEntityTooLarge:
			e.Detail = fmt.Sprintf("the request body is larger than %d bytes", maxBodyBytes)
		default:
			if httpErr.Code >= 500 {
				log.Error("http error", "err", err)
				e.Detail = "an unexpected error occurred"
			} else if msg, ok := httpErr.Message.(string); ok && msg != "" {
				e.Detail = msg
			}
		}
		return Errors{e}
	default:
		log.Error("internal error", "err", err)
		return Errors{{Status: http.StatusInternalServerError, Detail: "an unexpected error occurred"}}
	}
}

// textError is the 400 of a text value the store refused (U+0000, invalid
// UTF-8), which the body check refuses first: at the attribute when the
// column is one.
func textError(e *db.TextError) *Error {
	switch e.Table {
	case "contacts", "people", "phones":
		if e.Column != "" && e.Column != "id" && !strings.HasSuffix(e.Column, "_id") {
			return errBadRequest(attrPointer(e.Column), "%s: the text %s", e.Column, e.Reason)
		}
	}
	return errBadRequest("", "the request holds text that %s", e.Reason)
}

// errUnavailable is a 503 with Retry-After.
func errUnavailable(retryAfter int, format string, args ...any) *Error {
	return &Error{Status: http.StatusServiceUnavailable, RetryAfter: retryAfter, Detail: fmt.Sprintf(format, args...)}
}

// scopeError is the 404 or 403 of a path that does not lead to the
// caller's resource, or of the resource itself when it is not there.
func scopeError(e *db.ScopeError) *Error {
	sc := e.Scope
	switch e.Kind {
	case db.KindPhone:
		return errNotFound("phone %s was not found for person %s", e.ID, sc.PersonID)
	case db.KindPerson:
		switch {
		case sc.ContactID != "":
			return errNotFound("person %s was not found under contact %s", e.ID, sc.ContactID)
		case errors.Is(e.Err, db.ErrForbidden): // found by id alone (db.PersonScope)
			return errForbidden("person %s belongs to another account list", e.ID)
		}
		return errNotFound("person %s was not found", e.ID)
	}
	if errors.Is(e.Err, db.ErrForbidden) {
		return errForbidden("contact %s belongs to another account list", e.ID)
	}
	return errNotFound("contact %s was not found", e.ID)
}

// lookupFirst returns the error of lookup, which reads a request's path,
// if it fails, else err: a request's 404 or 403 comes before its body's
// 400. The handlers write without reading first (the store checks the
// path in its transaction), so they look up only when the body failed.
func lookupFirst(err error, lookup func() error) error {
	if lerr := lookup(); lerr != nil {
		return lerr
	}
	return err
}

// document builds the JSON:API error document for errs.
func document(errs Errors) generated.ErrorDocument {
	doc := generated.ErrorDocument{Errors: make([]generated.Error, len(errs))}
	for i, e := range errs {
		out := generated.Error{
			Status: fmt.Sprint(e.Status),
			Title:  http.StatusText(e.Status),
		}
		if e.Detail != "" {
			out.Detail = &e.Detail
		}
		if e.Pointer != "" || e.Parameter != "" || e.Header != "" {
			out.Source = &generated.ErrorSource{}
			if e.Pointer != "" {
				out.Source.Pointer = &e.Pointer
			}
			if e.Parameter != "" {
				out.Source.Parameter = &e.Parameter
			}
			if e.Header != "" {
				out.Source.Header = &e.Header
			}
		}
		if e.Meta != nil {
			m := e.Meta
			out.Meta = &m
		}
		doc.Errors[i] = out
	}
	return doc
}

// errorHandler is Echo's HTTPErrorHandler: every error response leaves here.
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	// A path whose id is not a UUID names no resource: 404, not 405.
	if he, ok := err.(*echo.HTTPError); ok && he.Code == http.StatusMethodNotAllowed && !pathIDsValid(c) {
		c.Response().Header().Del(echo.HeaderAllow)
		err = echo.ErrNotFound
	}
	errs := toErrors(err, s.timeout, s.log)
	status := errs[0].Status
	h := c.Response().Header()
	if status == http.StatusUnauthorized && h.Get("WWW-Authenticate") == "" {
		h.Set("WWW-Authenticate", "Bearer")
	}
	if secs := errs[0].RetryAfter; secs > 0 {
		h.Set("Retry-After", strconv.Itoa(secs))
	}
	h.Set(echo.HeaderContentType, mediaType)
	body, mErr := json.Marshal(document(errs))
	if mErr != nil {
		s.log.Error("encode error document", "err", mErr)
		return
	}
	body = append(body, '\n') // like success documents: exactly one newline at the end
	c.Response().WriteHeader(status)
	if c.Request().Method != http.MethodHead {
		_, _ = c.Response().Write(body)
	}
}
