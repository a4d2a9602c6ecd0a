package main

// The maximum token lifetime through serve and token.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// testSecret is serveEnv's PHONEAPI_JWT_SECRET.
const testSecret = "abuse-test-secret-abuse-test-secret"

// TestServeMaxTokenTTL: --max-token-ttl (or PHONEAPI_MAX_TOKEN_TTL, default
// 30 days) reaches the server, which refuses with a JSON:API 401 a token
// whose exp is further ahead, or whose exp - iat is longer; token refuses
// to mint a token longer than its own --max-token-ttl; bad values are
// usage errors unless the flag overrides the variable.
func TestServeMaxTokenTTL(t *testing.T) {
	const user = "0b7f0f8e-1111-4222-8333-944455556666"
	now := time.Now()
	sign := func(exp, iat time.Time) string {
		claims := jwt.MapClaims{"user_id": user, "exp": exp.Unix()}
		if !iat.IsZero() {
			claims["iat"] = iat.Unix()
		}
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(testSecret))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	day := 24 * time.Hour
	for _, tc := range []struct {
		name  string
		env   map[string]string
		args  []string
		token string
		want  int
	}{
		{"default, 30 days", nil, nil, sign(now.Add(30*day), now), http.StatusOK},
		{"default, 31 days", nil, nil, sign(now.Add(31*day), time.Time{}), http.StatusUnauthorized},
		{"default, year 9999", nil, nil, sign(time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), now), http.StatusUnauthorized},
		{"default, exp - iat 31 days", nil, nil, sign(now.Add(day), now.Add(-30*day)), http.StatusUnauthorized},
		{"flag 1h, 1h", nil, []string{"--max-token-ttl", "1h"}, sign(now.Add(time.Hour), now), http.StatusOK},
		{"flag 1h, 2h", nil, []string{"--max-token-ttl", "1h"}, sign(now.Add(2*time.Hour), time.Time{}), http.StatusUnauthorized},
		{"env 1h, 2h", map[string]string{"PHONEAPI_MAX_TOKEN_TTL": "1h"}, nil, sign(now.Add(2*time.Hour), time.Time{}), http.StatusUnauthorized},
		{"env 1h, flag 3h, 2h", map[string]string{"PHONEAPI_MAX_TOKEN_TTL": "1h"}, []string{"--max-token-ttl", "3h"}, sign(now.Add(2*time.Hour), now), http.StatusOK},
		{"flag 1000 days, 999 days", nil, []string{"--max-token-ttl", "24000h"}, sign(now.Add(999*day), now), http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServe(t, serveEnv(t, tc.env), tc.args...)
			r, _ := http.NewRequest("GET", srv.URL+"/api/v2/contacts", nil)
			r.Header.Set("Authorization", "Bearer "+tc.token)
			res, err := http.DefaultClient.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tc.want {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tc.want, body)
			}
			if tc.want == http.StatusUnauthorized {
				wantJSONAPIError(t, res, body, "401")
				if h := res.Header.Get("WWW-Authenticate"); h != `Bearer error="invalid_token"` {
					t.Errorf("WWW-Authenticate %q", h)
				}
			}
		})
	}

	// token mints nothing that serve with the same maximum would refuse.
	secret := map[string]string{"PHONEAPI_JWT_SECRET": testSecret}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		code int
		want string // in stderr
	}{
		{"default --ttl", secret, nil, 0, ""},
		{"--ttl the default maximum", secret, []string{"--ttl", "720h"}, 0, ""},
		{"--ttl above the default maximum", secret, []string{"--ttl", "721h"}, 2, "longer than the maximum token lifetime 720h0m0s"},
		{"--ttl above --max-token-ttl", secret, []string{"--ttl", "2h", "--max-token-ttl", "1h"}, 2, "--max-token-ttl"},
		{"--ttl above PHONEAPI_MAX_TOKEN_TTL", map[string]string{"PHONEAPI_JWT_SECRET": testSecret, "PHONEAPI_MAX_TOKEN_TTL": "1h"}, []string{"--ttl", "2h"}, 2, "maximum token lifetime 1h0m0s"},
		{"--ttl within a raised maximum", secret, []string{"--ttl", "2000h", "--max-token-ttl", "2000h"}, 0, ""},
		{"--ttl below a second", secret, []string{"--ttl", "500ms"}, 2, "at least 1s"},
		{"bad PHONEAPI_MAX_TOKEN_TTL", map[string]string{"PHONEAPI_JWT_SECRET": testSecret, "PHONEAPI_MAX_TOKEN_TTL": "forever"}, nil, 2, "PHONEAPI_MAX_TOKEN_TTL"},
		{"bad PHONEAPI_MAX_TOKEN_TTL, overridden", map[string]string{"PHONEAPI_JWT_SECRET": testSecret, "PHONEAPI_MAX_TOKEN_TTL": "forever"}, []string{"--max-token-ttl", "1h", "--ttl", "1h"}, 0, ""},
		{"zero --max-token-ttl", secret, []string{"--max-token-ttl", "0s"}, 2, "max-token-ttl"},
	} {
		t.Run("token/"+tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), append([]string{"token", "--user", user}, tc.args...), env(tc.env), &stdout, &stderr)
			if code := exitCode(err, &stderr); code != tc.code {
				t.Fatalf("exit code %d, want %d (stderr %q)", code, tc.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tc.want)
			}
			if tc.code != 0 {
				if stdout.Len() != 0 {
					t.Errorf("stdout %q, want nothing", stdout.String())
				}
				return
			}
			claims := jwt.MapClaims{}
			if _, err := jwt.ParseWithClaims(strings.TrimSpace(stdout.String()), claims, func(*jwt.Token) (any, error) { return []byte(testSecret), nil }); err != nil {
				t.Fatal(err)
			}
			exp, _ := claims.GetExpirationTime()
			iat, _ := claims.GetIssuedAt()
			if exp == nil || iat == nil || exp.Sub(iat.Time) <= 0 {
				t.Errorf("exp %v, iat %v", exp, iat)
			}
		})
	}

	// serve: a bad variable is a usage error unless the flag overrides it.
	// The context is cancelled: a serve that got past its flags stops
	// rather than serving.
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		env  map[string]string
		args []string
	}{
		{map[string]string{"PHONEAPI_MAX_TOKEN_TTL": "forever"}, nil},
		{map[string]string{"PHONEAPI_MAX_TOKEN_TTL": "-1h"}, nil},
		{nil, []string{"--max-token-ttl", "0"}},
		{nil, []string{"--max-token-ttl", "-5m"}},
	} {
		err := run(cancelled, append([]string{"serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "x.db")}, tc.args...), env(tc.env), io.Discard, io.Discard)
		var ue *usageError
		if !errors.As(err, &ue) {
			t.Errorf("serve %v with %v: %v, want a usage error", tc.args, tc.env, err)
		}
	}
	startServe(t, serveEnv(t, map[string]string{"PHONEAPI_MAX_TOKEN_TTL": "forever"}), "--max-token-ttl", "5h")
}

// wantJSONAPIError checks that res, whose body is body, is a JSON:API error
// document with the given status and returns its first error.
func wantJSONAPIError(t *testing.T, res *http.Response, body []byte, status string) map[string]any {
	t.Helper()
	if ct := res.Header.Get("Content-Type"); ct != "application/vnd.api+json" {
		t.Errorf("Content-Type %q, want application/vnd.api+json", ct)
	}
	var doc struct{ Errors []map[string]any }
	if err := json.Unmarshal(body, &doc); err != nil || len(doc.Errors) == 0 {
		t.Fatalf("not a JSON:API error document (%v): %q", err, body)
	}
	if doc.Errors[0]["status"] != status {
		t.Errorf("errors[0].status %v, want %q", doc.Errors[0]["status"], status)
	}
	if d, _ := doc.Errors[0]["detail"].(string); d == "" {
		t.Errorf("errors[0] has no detail: %s", body)
	}
	return doc.Errors[0]
}
