package handlers

// This file holds the Idempotency-Key header of creates (IETF
// draft-ietf-httpapi-idempotency-key-header): its syntax, the request's
// hash, and the replay of a create already made. The store keeps the keys
// and decides, in the create's transaction, whether a key is new (see
// db.Key).

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"maps"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/phoneapi/phoneapi/db"
)

// headerIdempotencyKey is the request header of an idempotent create.
const headerIdempotencyKey = "Idempotency-Key"

// maxKeyLen is the longest key accepted, in characters (unquoted).
const maxKeyLen = 255

// retryAfterInProgress is the Retry-After of the 409 of a key whose first
// request is still being answered.
const retryAfterInProgress = 1

// idemKey is the request's Idempotency-Key and the hash of the request
// (method, target and body bytes), as idempotencyKey found them.
type idemKey struct{ key, hash string }

type idemKeyCtx struct{}

// idempotencyKey checks the Idempotency-Key header of the operations that
// take it, when sent: anything but one sf-string of 1 to maxKeyLen
// characters is 400. It hashes the request (SHA-256 of the method, the
// path, the query parameters but access_token, and the body's bytes as
// received)
// and keeps key and hash in the request's context for keyOf. The body is
// read here (413 above maxBodyBytes) and put back for validate.
func idempotencyKey(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		values := req.Header.Values(headerIdempotencyKey)
		if len(values) == 0 {
			return next(c)
		}
		if len(values) > 1 {
			return errKey("send one Idempotency-Key header, not %d", len(values))
		}
		key, err := parseKey(values[0])
		if err != nil {
			return err
		}
		raw, err := readBody(req)
		if err != nil {
			return err
		}
		req.Body = io.NopCloser(bytes.NewReader(raw))
		query := c.QueryParams()
		if _, ok := query["access_token"]; ok { // a retry may carry a new token
			query = maps.Clone(query)
			delete(query, "access_token")
		}
		h := sha256.New()
		h.Write([]byte(req.Method))
		h.Write([]byte{0})
		h.Write([]byte(req.URL.EscapedPath()))
		h.Write([]byte{0})
		h.Write([]byte(query.Encode())) // sorted by name
		h.Write([]byte{0})
		h.Write(raw)
		ctx := context.WithValue(req.Context(), idemKeyCtx{}, idemKey{key: key, hash: hex.EncodeToString(h.Sum(nil))})
		c.SetRequest(req.WithContext(ctx))
		return next(c)
	}
}

// parseKey returns the value of an Idempotency-Key header: a Structured
// Field string (RFC 8941 sf-string: quoted, printable ASCII, \" and \\ as
// the only escapes) without parameters, of 1 to maxKeyLen characters.
// Errors are 400 at the header.
func parseKey(v string) (string, error) {
	const form = `the Idempotency-Key must be a quoted string of 1 to 255 printable ASCII characters, such as "8e03978e-40d5-43e8-bc93-6894a57f9324"`
	if len(v) < 2 || v[0] != '"' {
		return "", errKey("%s; a bare token is not accepted", form)
	}
	var b []byte
	for i := 1; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\':
			if i+1 == len(v) || (v[i+1] != '"' && v[i+1] != '\\') {
				return "", errKey(`%s; only \" and \\ may be escaped`, form)
			}
			i++
			b = append(b, v[i])
		case c == '"':
			if i != len(v)-1 {
				return "", errKey("%s, with nothing after its closing quote", form)
			}
			if len(b) == 0 || len(b) > maxKeyLen {
				return "", errKey("%s; this one has %d", form, len(b))
			}
			return string(b), nil
		case c < 0x20 || c > 0x7e:
			return "", errKey("%s; it has a character outside printable ASCII", form)
		default:
			b = append(b, c)
		}
	}
	return "", errKey("%s; the closing quote is missing", form)
}

// errKey is a 400 at the Idempotency-Key header.
func errKey(format string, args ...any) *Error {
	e := errBadRequest("", format, args...)
	e.Header, e.Parameter = headerIdempotencyKey, headerIdempotencyKey
	return e
}

// keyOf returns the store's key for the request's Idempotency-Key, the
// caller's, or nil when it sent none. A key whose response is not
// recorded counts as in progress for the request deadline and a second:
// the first request has then ended, answered or not.
func (s *Server) keyOf(ctx context.Context) *db.Key {
	k, ok := ctx.Value(idemKeyCtx{}).(idemKey)
	if !ok {
		return nil
	}
	return &db.Key{UserID: callerFrom(ctx).UserID, Key: k.key, Hash: k.hash, Pending: s.timeout + time.Second}
}

// create runs a create under the request's Idempotency-Key, if any. write
// creates under key (nil when none) and returns the 201 response of the
// new resource; current returns the 201 response of the resource with the
// given id as it is now. A new create's response is recorded for the
// key's retries; a retry gets the recorded response, or current's when
// none was recorded (the server stopped in between). The store's other
// errors (the key used for another request, or still in progress) are
// returned for toErrors.
func (s *Server) create(ctx context.Context, write func(key *db.Key) (rawDoc, error), current func(id string) (rawDoc, error)) (rawDoc, error) {
	key := s.keyOf(ctx)
	doc, err := write(key)
	var replay *db.ReplayError
	switch {
	case errors.As(err, &replay) && replay.Response.Status == 0:
		return current(replay.ResourceID)
	case replay != nil:
		r := replay.Response
		return rawDoc{status: r.Status, location: r.Location, etag: r.ETag, body: r.Body}, nil
	case err != nil:
		return rawDoc{}, err
	}
	if key != nil {
		// The create is committed: it is answered even if its response
		// cannot be recorded (a retry then gets current's).
		err := s.store.RecordResponse(ctx, key, db.Response{Status: doc.status, Location: doc.location, ETag: doc.etag, Body: doc.body})
		if err != nil {
			s.log.Error("record the response of an idempotency key", "err", err)
		}
	}
	return doc, nil
}
