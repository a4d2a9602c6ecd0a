package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
)

// checkQueryString answers 400 when the request's query string is not
// read exactly as it was sent (parseQuery). It runs before authentication,
// which may read access_token from the query, and before every other
// reader of the query: they all read echo.Context.QueryParams, Echo's
// url.URL.Query, which silently drops the pairs that url.ParseQuery
// refuses; once parseQuery has accepted the query string, that parse is
// complete.
func checkQueryString(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if raw := c.Request().URL.RawQuery; raw != "" {
			if _, err := parseQuery(raw); err != nil {
				return err
			}
		}
		return next(c)
	}
}

// parseQuery parses a raw query string strictly: it returns url.ParseQuery's
// values when url.ParseQuery returns no error and no parameter name or
// value, once percent-decoded, holds U+0000 or invalid UTF-8 (neither can
// be stored alike by both engines). Otherwise the error is a 400 *Error
// about the first pair, in the order sent, that breaks a rule: a raw ";"
// (not a separator since Go 1.17), an invalid %-escape, U+0000 or invalid
// UTF-8. Its source.parameter names the parameter when its name is known
// (the name has no ";" and decodes to clean text); else the detail says
// which pair it is by its position. A query string url.ParseQuery refuses
// as a whole (more parameters than it allows) is a 400 without a
// parameter. No detail ever repeats a value, which may be a token
// (access_token).
func parseQuery(raw string) (url.Values, error) {
	values, err := url.ParseQuery(raw)
	if err == nil && cleanValues(values) {
		return values, nil
	}
	if e := firstBadPair(raw); e != nil {
		return nil, e
	}
	if err == nil { // unreachable: an unclean value is some pair's
		err = fmt.Errorf("a parameter is not clean text")
	}
	return nil, &Error{Status: http.StatusBadRequest,
		Detail: "the query string could not be parsed: " + err.Error()}
}

// cleanValues reports whether every name and value of v is clean text.
func cleanValues(v url.Values) bool {
	for k, vs := range v {
		if !cleanText(k) {
			return false
		}
		for _, s := range vs {
			if !cleanText(s) {
				return false
			}
		}
	}
	return true
}

// cleanText reports whether s is valid UTF-8 without U+0000.
func cleanText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// firstBadPair walks raw's &-separated pairs as url.ParseQuery does and
// returns the error about the first one that breaks a rule of parseQuery,
// or nil when none does.
func firstBadPair(raw string) *Error {
	n := 0
	for rest := raw; rest != ""; {
		var pair string
		pair, rest, _ = strings.Cut(rest, "&")
		if pair == "" {
			continue
		}
		n++
		rawKey, rawValue, _ := strings.Cut(pair, "=")
		// The parameter's name, when it can be known.
		name, keyErr := url.QueryUnescape(rawKey)
		named := keyErr == nil && !strings.Contains(rawKey, ";") && cleanText(name)
		switch {
		case strings.Contains(rawKey, ";"):
			return &Error{Status: http.StatusBadRequest, Detail: fmt.Sprintf(
				`query parameter %d has a raw ";" in its name; ";" does not separate parameters: separate them with "&", and send ";" as %%3B`, n)}
		case keyErr != nil:
			return &Error{Status: http.StatusBadRequest, Detail: fmt.Sprintf(
				`the name of query parameter %d has an invalid %%-escape (%% must be followed by two hex digits; send "%%" itself as %%25)`, n)}
		case !named:
			return &Error{Status: http.StatusBadRequest, Detail: fmt.Sprintf(
				"the name of query parameter %d %s", n, uncleanProblem(name))}
		case strings.Contains(rawValue, ";"):
			return errParam(name,
				`%s: the value has a raw ";"; ";" does not separate parameters: separate them with "&", and send ";" inside a value as %%3B`, name)
		}
		value, err := url.QueryUnescape(rawValue)
		switch {
		case err != nil:
			return errParam(name,
				`%s: the value has an invalid %%-escape (%% must be followed by two hex digits; send "%%" itself as %%25)`, name)
		case !cleanText(value):
			return errParam(name, "%s: the value %s", name, uncleanProblem(value))
		}
	}
	return nil
}

// uncleanProblem says why s is not clean text.
func uncleanProblem(s string) string {
	if strings.IndexByte(s, 0) >= 0 {
		return "contains U+0000 (%00), which is not accepted"
	}
	return "is not valid UTF-8 once percent-decoded"
}
