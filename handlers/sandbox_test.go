package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/phoneapi/phoneapi/db"
)

// sandboxPost sends POST /sandbox/reset through e and validates the answer
// against sandbox.yaml, the sandbox's own spec.
func sandboxPost(t *testing.T, e http.Handler) (int, []byte) {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(SandboxSpec)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("sandbox.yaml: %v", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	hr := httptest.NewRequest(http.MethodPost, "/sandbox/reset", nil)
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, hr)
	route, params, err := router.FindRoute(hr.Clone(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: hr, PathParams: params, Route: route},
		Status:                 rec.Code, Header: rec.Header(), Body: io.NopCloser(bytes.NewReader(rec.Body.Bytes())),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("POST /sandbox/reset: response %d does not match sandbox.yaml: %v\n%s", rec.Code, err, rec.Body)
	}
	return rec.Code, rec.Body.Bytes()
}

// TestSandboxResetAbsent: without Config.Reset (serve), the sandbox's
// paths are a JSON:API 404 like any unknown path.
func TestSandboxResetAbsent(t *testing.T) {
	a := newAPI(t)
	a.do(req{Method: http.MethodPost, Path: "/sandbox/reset"}).want(t, http.StatusNotFound, "")
	a.do(req{Method: http.MethodGet, Path: "/sandbox/openapi.yaml"}).want(t, http.StatusNotFound, "")
}

// TestSandboxReset: with Config.Reset, POST /sandbox/reset restores the
// fixture (here, the data when it was exported), answers its counts, and
// clears the users cache: a user created after the fixture, gone with the
// reset, can write again at once.
func TestSandboxReset(t *testing.T) {
	forEngines(t, nil, func(t *testing.T, base *api) {
		ctx := t.Context()
		store := base.store
		var fixture *db.Fixture
		failNext := false
		e, err := New(store, Config{Secret: testSecret, Logger: slog.New(slog.DiscardHandler),
			Reset: func(ctx context.Context) (map[string]int, error) {
				if failNext {
					failNext = false
					return nil, errors.New("hook failed")
				}
				res, err := store.Restore(ctx, fixture)
				if err != nil {
					return nil, err
				}
				delete(res.Tables, "settings")
				return res.Tables, nil
			}})
		if err != nil {
			t.Fatal(err)
		}
		a := &api{t: t, e: e, store: store}

		owner := a.user()
		kept := a.contact(owner)
		var export bytes.Buffer
		if _, err := store.Export(ctx, &export, nil); err != nil {
			t.Fatal(err)
		}
		if fixture, err = db.ReadFixture(&export); err != nil {
			t.Fatal(err)
		}

		later := a.user() // not in the fixture
		gone := a.contact(later)
		extra := a.contact(owner)

		code, body := sandboxPost(t, e)
		if code != http.StatusOK {
			t.Fatalf("reset: %d %s", code, body)
		}
		var doc struct {
			Meta struct{ Restored map[string]int }
		}
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatal(err)
		}
		if r := doc.Meta.Restored; r["contacts"] != 1 || r["users"] != 1 || r["account_lists"] != 1 || len(r) != 6 {
			t.Errorf("restored %v", r)
		}
		mustGet(t, a, owner, "/api/v2/contacts/"+kept)
		a.do(req{Method: http.MethodGet, Path: "/api/v2/contacts/" + extra, Token: owner}).want(t, http.StatusNotFound, "")
		a.do(req{Method: http.MethodGet, Path: "/api/v2/contacts/" + gone, Token: later}).want(t, http.StatusNotFound, "")
		// later's cached account list is gone: without the cache cleared
		// its create would fail.
		a.contact(later)

		// A failing reset is a JSON:API error through the one mapping.
		failNext = true
		if code, body := sandboxPost(t, e); code != http.StatusInternalServerError {
			t.Errorf("failed reset: %d %s", code, body)
		}

		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/sandbox/openapi.yaml", nil))
		if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), SandboxSpec) {
			t.Errorf("GET /sandbox/openapi.yaml: %d", rec.Code)
		}
	})
}
