package handlers

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/phoneapi/phoneapi/db"
	"github.com/phoneapi/phoneapi/db/dbtest"
)

// The Idempotency-Key of creates, through the real Echo stack, on SQLite
// and on PostgreSQL (skipped without PHONEAPI_TEST_POSTGRES_URL, as
// pgtest says).

// keyed is r with the Idempotency-Key header set to key (quoted).
func keyed(r req, key string) req {
	r.Header = map[string]string{headerIdempotencyKey: `"` + key + `"`}
	return r
}

// total is the total_count of the list at path.
func total(t *testing.T, a *api, tok, path string) int {
	t.Helper()
	r := a.do(req{Method: "GET", Path: path, Token: tok})
	r.want(t, http.StatusOK, "")
	return decodePage(t, r).Meta.Pagination.TotalCount
}

// sameResponse fails unless got is the replay of want: status, body,
// Location, ETag and Content-Type.
func sameResponse(t *testing.T, got, want *resp) {
	t.Helper()
	if got.Code != want.Code || !bytes.Equal(got.Raw, want.Raw) {
		t.Errorf("replay %d %s\nwant %d %s", got.Code, got.Raw, want.Code, want.Raw)
	}
	for _, h := range []string{"Location", "ETag", "Content-Type"} {
		if got.Header.Get(h) != want.Header.Get(h) || want.Header.Get(h) == "" {
			t.Errorf("replay %s %q, want %q", h, got.Header.Get(h), want.Header.Get(h))
		}
	}
}

// wantKeyError checks an error at the Idempotency-Key header.
func wantKeyError(t *testing.T, r *resp, code int) {
	t.Helper()
	r.want(t, code, "")
	src, _ := r.firstError()["source"].(map[string]any)
	if src["header"] != headerIdempotencyKey || src["parameter"] != headerIdempotencyKey {
		t.Errorf("error source %v, want header and parameter %s", src, headerIdempotencyKey)
	}
}

// TestIdempotencyKeyRetry: a retry after a lost response, with the same
// key and request, gets the original response (status, body, Location,
// ETag) and writes nothing, for each of the three creates; the body is
// the original even when an included resource changed since.
func TestIdempotencyKeyRetry(t *testing.T) {
	forEngines(t, nil, func(t *testing.T, a *api) {
		tr := a.tree()
		contact := req{Method: "POST", Path: "/api/v2/contacts", Token: tr.tok, Body: doc("contacts", map[string]any{"name": "Retried"})}
		person := req{Method: "POST", Path: tr.contactPath() + "/people", Token: tr.tok, Body: doc("people", map[string]any{"first_name": "Retried"})}
		phone := req{Method: "POST", Path: tr.phonesPath() + "?include=person", Token: tr.tok,
			Body: doc("phone_numbers", map[string]any{"number": "617-555-0100", "primary": true})}
		for _, c := range []struct {
			name string
			r    req
			list string
		}{
			{"contact", contact, "/api/v2/contacts"},
			// Without the key the retry of a create that chose its id is
			// 409: the replay comes first.
			{"contact-with-id", req{Method: "POST", Path: "/api/v2/contacts", Token: tr.tok,
				Body: docWithID("contacts", uuid.NewString(), map[string]any{"name": "Chosen"})}, "/api/v2/contacts"},
			{"person", person, tr.contactPath() + "/people"},
			{"phone", phone, tr.phonesPath()},
		} {
			t.Run(c.name, func(t *testing.T) {
				before := total(t, a, tr.tok, c.list)
				first := a.do(keyed(c.r, "retry-"+c.name))
				first.want(t, http.StatusCreated, "")
				// The person changes: a replay is the response sent then.
				a.do(req{Method: "PATCH", Path: tr.personPath(), Token: tr.tok,
					Body: doc("people", map[string]any{"last_name": "Changed", "overwrite": true})}).want(t, http.StatusOK, "")
				for range 2 {
					sameResponse(t, a.do(keyed(c.r, "retry-"+c.name)), first)
				}
				if n := total(t, a, tr.tok, c.list); n != before+1 {
					t.Errorf("%d rows after a create and two retries, want %d", n, before+1)
				}
				// Without a key the same request creates again (or, with
				// its id chosen, is 409).
				if c.name == "contact-with-id" {
					a.do(c.r).want(t, http.StatusConflict, "/data/id")
					return
				}
				a.do(c.r).want(t, http.StatusCreated, "")
				if n := total(t, a, tr.tok, c.list); n != before+2 {
					t.Errorf("%d rows after a create without a key, want %d", n, before+2)
				}
			})
		}
	})
}

// TestIdempotencyKeyOtherRequest: the same key with another body, path or
// query string is 422 at the header, and writes nothing.
func TestIdempotencyKeyOtherRequest(t *testing.T) {
	forEngines(t, nil, func(t *testing.T, a *api) {
		tr := a.tree()
		other := a.person(tr.tok, tr.contact)
		r := req{Method: "POST", Path: tr.phonesPath(), Token: tr.tok, Body: doc("phone_numbers", map[string]any{"number": "617-555-0100"})}
		a.do(keyed(r, "k")).want(t, http.StatusCreated, "")
		otherBody := r
		otherBody.Body = doc("phone_numbers", map[string]any{"number": "617-555-0101"})
		otherPath := r
		otherPath.Path = phonesPath(tr.contact, other)
		otherQuery := r
		otherQuery.Path += "?include=person"
		sameBytes := r
		sameBytes.Body = `{"data":{"type":"phone_numbers","attributes":{"number":"617-555-0100"}}}` // the same document, other bytes
		for _, x := range []req{otherBody, otherPath, otherQuery, sameBytes} {
			wantKeyError(t, a.do(keyed(x, "k")), http.StatusUnprocessableEntity)
		}
		if n := total(t, a, tr.tok, tr.phonesPath()); n != 2 {
			t.Errorf("%d phones, want the fixture's and the first create's", n)
		}
		if n := total(t, a, tr.tok, phonesPath(tr.contact, other)); n != 0 {
			t.Errorf("%d phones of the other person, want 0", n)
		}
	})
}

// TestIdempotencyKeyUsers: users do not share keys.
func TestIdempotencyKeyUsers(t *testing.T) {
	forEngines(t, nil, func(t *testing.T, a *api) {
		r := req{Method: "POST", Path: "/api/v2/contacts", Body: doc("contacts", map[string]any{"name": "Same"})}
		var ids []string
		for _, tok := range []string{a.user(), a.user()} {
			r.Token = tok
			got := a.do(keyed(r, "shared"))
			got.want(t, http.StatusCreated, "")
			ids = append(ids, got.id())
			if n := total(t, a, tok, "/api/v2/contacts"); n != 1 {
				t.Errorf("%d contacts, want 1", n)
			}
		}
		if ids[0] == ids[1] {
			t.Errorf("two users' creates under one key gave one contact %s", ids[0])
		}
	})
}

// TestIdempotencyKeyExpires: 24 hours after its create the key is new
// again: the same request creates.
func TestIdempotencyKeyExpires(t *testing.T) {
	forEngines(t, nil, func(t *testing.T, a *api) {
		clock := newClock(a, time.Now())
		tok := a.user()
		r := keyed(req{Method: "POST", Path: "/api/v2/contacts", Token: tok, Body: doc("contacts", map[string]any{"name": "Daily"})}, "daily")
		first := a.do(r)
		first.want(t, http.StatusCreated, "")
		clock.Add(db.KeyTTL - time.Millisecond)
		sameResponse(t, a.do(r), first)
		clock.Add(time.Millisecond)
		again := a.do(r)
		again.want(t, http.StatusCreated, "")
		if again.id() == first.id() {
			t.Errorf("a create under an expired key replayed %s", first.id())
		}
		if n := total(t, a, tok, "/api/v2/contacts"); n != 2 {
			t.Errorf("%d contacts, want 2", n)
		}
	})
}

// TestIdempotencyKeyConcurrent: requests with one key sent at once create
// one row; each gets the 201 (the original or its replay) or 409 with
// Retry-After.
func TestIdempotencyKeyConcurrent(t *testing.T) {
	forEngines(t, nil, func(t *testing.T, a *api) {
		tr := a.tree()
		r := keyed(req{Method: "POST", Path: tr.phonesPath(), Token: tr.tok, Body: doc("phone_numbers", map[string]any{"number": "617-555-0102"})}, "together")
		const n = 8
		out := dbtest.Together(n, func(int) *resp { return a.do(r) })
		var created *resp
		for _, got := range out {
			switch got.Code {
			case http.StatusCreated:
				if created == nil {
					created = got
				} else if !bytes.Equal(got.Raw, created.Raw) || got.Header.Get("Location") != created.Header.Get("Location") {
					t.Errorf("two different 201s:\n%s\n%s", created.Raw, got.Raw)
				}
			case http.StatusConflict:
				wantKeyError(t, got, http.StatusConflict)
				if got.Header.Get("Retry-After") == "" {
					t.Error("409 without Retry-After")
				}
			default:
				t.Errorf("status %d: %s", got.Code, got.Raw)
			}
		}
		if created == nil {
			t.Error("no request got 201")
		}
		if got := total(t, a, tr.tok, tr.phonesPath()); got != 2 {
			t.Errorf("%d phones, want the fixture's and one more", got)
		}
	})
}

// gatedStore holds RecordResponse until release is closed (recording is
// signalled on recording); fail makes it fail instead.
type gatedStore struct {
	*db.Store
	recording chan struct{}
	release   chan struct{}
	once      sync.Once
	fail      bool
}

func (g *gatedStore) RecordResponse(ctx context.Context, k *db.Key, r db.Response) error {
	if g.fail {
		return errors.New("test: the response is lost")
	}
	g.once.Do(func() { close(g.recording) })
	<-g.release
	return g.Store.RecordResponse(ctx, k, r)
}

// TestIdempotencyKeyInProgress: while the first request's response is
// not recorded, a retry gets 409 with Retry-After; once it is, the retry
// gets it.
func TestIdempotencyKeyInProgress(t *testing.T) {
	var g *gatedStore
	forEngines(t, func(s *db.Store) Store {
		g = &gatedStore{Store: s, recording: make(chan struct{}), release: make(chan struct{})}
		return g
	}, func(t *testing.T, a *api) {
		tok := a.user()
		r := keyed(req{Method: "POST", Path: "/api/v2/contacts", Token: tok, Body: doc("contacts", map[string]any{"name": "Slow"})}, "slow")
		done := make(chan *resp)
		go func() { done <- a.do(r) }()
		select {
		case <-g.recording:
		case first := <-done:
			t.Fatalf("the create was answered (%d) without recording its response", first.Code)
		}
		retry := a.do(r)
		wantKeyError(t, retry, http.StatusConflict)
		if retry.Header.Get("Retry-After") != "1" {
			t.Errorf("Retry-After %q, want 1", retry.Header.Get("Retry-After"))
		}
		close(g.release)
		first := <-done
		first.want(t, http.StatusCreated, "")
		sameResponse(t, a.do(r), first)
		if n := total(t, a, tok, "/api/v2/contacts"); n != 1 {
			t.Errorf("%d contacts, want 1", n)
		}
	})
}

// TestIdempotencyKeyUnrecorded: when the response of a committed create
// could not be recorded, a retry is 409 until the request deadline has
// passed, then gets the resource as it is now, with 201 and its Location.
func TestIdempotencyKeyUnrecorded(t *testing.T) {
	forEngines(t, func(s *db.Store) Store { return &gatedStore{Store: s, fail: true} }, func(t *testing.T, a *api) {
		clock := newClock(a, time.Now())
		tr := a.tree()
		r := keyed(req{Method: "POST", Path: tr.contactPath() + "/people", Token: tr.tok, Body: doc("people", map[string]any{"first_name": "Lost"})}, "lost")
		first := a.do(r)
		first.want(t, http.StatusCreated, "")
		wantKeyError(t, a.do(r), http.StatusConflict)
		clock.Add(DefaultRequestTimeout + time.Second)
		renamed := a.do(req{Method: "PATCH", Path: first.Header.Get("Location"), Token: tr.tok,
			Body: doc("people", map[string]any{"first_name": "Found", "overwrite": true})})
		renamed.want(t, http.StatusOK, "")
		again := a.do(r)
		again.want(t, http.StatusCreated, "")
		if again.id() != first.id() || again.Header.Get("Location") != first.Header.Get("Location") ||
			again.Header.Get("ETag") != renamed.Header.Get("ETag") || again.attrs()["first_name"] != "Found" {
			t.Errorf("retry of an unrecorded create: %v %s\nwant the person as it is now: %s", again.Header, again.Raw, renamed.Raw)
		}
		if n := total(t, a, tr.tok, tr.contactPath()+"/people"); n != 2 {
			t.Errorf("%d people, want the fixture's and one more", n)
		}
	})
}

// TestIdempotencyKeySyntax: the key is one quoted sf-string of 1 to 255
// printable ASCII characters; anything else is 400 at the header, before
// the body is looked at, and writes nothing.
func TestIdempotencyKeySyntax(t *testing.T) {
	a := newAPI(t)
	tok := a.user()
	r := req{Method: "POST", Path: "/api/v2/contacts", Token: tok, Body: doc("contacts", map[string]any{"name": "Keyed"})}
	withKey := func(v string) req {
		x := r
		x.Header = map[string]string{headerIdempotencyKey: v}
		return x
	}
	for _, bad := range []string{
		`abc`,                                // a bare token
		`""`,                                 // empty
		`"` + strings.Repeat("k", 256) + `"`, // too long
		`"abc`,                               // unterminated
		`"a" , "b"`,                          // a list
		`"a";p=1`,                            // parameters
		`"a\x"`,                              // a bad escape
		`"caf` + "\u00e9" + `"`,              // not ASCII
		"\"a\tb\"",                           // a control character
		`:YWJj:`,                             // a byte sequence
	} {
		wantKeyError(t, a.do(withKey(bad)), http.StatusBadRequest)
	}
	// Before the body: a bad key and a bad body give the key's 400.
	x := withKey(`abc`)
	x.Body = `{"data":`
	wantKeyError(t, a.do(x), http.StatusBadRequest)
	if n := total(t, a, tok, "/api/v2/contacts"); n != 0 {
		t.Fatalf("%d contacts after refused keys, want 0", n)
	}
	for _, good := range []string{`"a"`, `"` + strings.Repeat("k", 255) + `"`, `"a\"b\\c"`, `"with spaces ~!"`} {
		first := a.do(withKey(good))
		first.want(t, http.StatusCreated, "")
		sameResponse(t, a.do(withKey(good)), first)
	}
	if n := total(t, a, tok, "/api/v2/contacts"); n != 4 {
		t.Errorf("%d contacts, want 4", n)
	}
	// Two header lines are not one key.
	hr := httptest.NewRequest("POST", "/api/v2/contacts", strings.NewReader(`{"data":{"type":"contacts","attributes":{"name":"Twice"}}}`))
	hr.Header.Set("Content-Type", mediaType)
	hr.Header.Set("Authorization", "Bearer "+tok)
	hr.Header.Add(headerIdempotencyKey, `"twice"`)
	hr.Header.Add(headerIdempotencyKey, `"twice"`)
	rec := httptest.NewRecorder()
	a.e.ServeHTTP(rec, hr)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), headerIdempotencyKey) {
		t.Errorf("two Idempotency-Key headers: %d %s", rec.Code, rec.Body)
	}
}
