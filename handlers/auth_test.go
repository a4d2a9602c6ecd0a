package handlers

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// signToken mints a token with the given method, key and claims.
func signToken(t testing.TB, method jwt.SigningMethod, key []byte, claims jwt.MapClaims) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// unsignedToken builds an "alg": "none" token by hand: header, claims and an
// empty signature.
func unsignedToken(t testing.TB, claims map[string]any) string {
	t.Helper()
	return tokenSegment(t, map[string]any{"alg": "none", "typ": "JWT"}) + "." + tokenSegment(t, claims) + "."
}

func TestAuthTokens(t *testing.T) {
	a := newAPI(t)
	now := time.Now()
	uid := uuid.NewString()
	valid := func() jwt.MapClaims { return jwt.MapClaims{"user_id": uid, "exp": now.Add(time.Hour).Unix()} }
	good := signToken(t, jwt.SigningMethodHS256, testSecret, valid())
	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + tokenSegment(t, map[string]any{"user_id": uuid.NewString(), "exp": now.Add(time.Hour).Unix()}) + "." + parts[2]

	cases := []struct {
		name   string
		header string // Authorization; "" sends none
		query  string // access_token
		ok     bool
	}{
		{name: "valid", header: "Bearer " + good, ok: true},
		{name: "scheme in lower case", header: "bearer " + good, ok: true},
		{name: "access_token query parameter", query: good, ok: true},
		{name: "expired 10 s ago, within the leeway", header: "Bearer " + signToken(t, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"user_id": uid, "exp": now.Add(-10 * time.Second).Unix()}), ok: true},
		{name: "sub fallback", header: "Bearer " + signToken(t, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"sub": uid, "exp": now.Add(time.Hour).Unix()}), ok: true},
		{name: "upper-case user_id", header: "Bearer " + signToken(t, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"user_id": strings.ToUpper(uid), "exp": now.Add(time.Hour).Unix()}), ok: true},

		{name: "missing"},
		{name: "empty bearer", header: "Bearer "},
		{name: "no scheme", header: good},
		{name: "basic scheme", header: "Basic " + base64.StdEncoding.EncodeToString([]byte("user:pass"))},
		{name: "malformed", header: "Bearer not-a-token"},
		{name: "three garbage segments", header: "Bearer a.b.c"},
		{name: "empty access_token", query: " "},
		{name: "malformed access_token", query: "abc"},
		{name: "bad signature", header: "Bearer " + signToken(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-xx"), valid())},
		{name: "bad signature in access_token", query: signToken(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-xx"), valid())},
		{name: "tampered claims", header: "Bearer " + tampered},
		{name: "signature stripped", header: "Bearer " + parts[0] + "." + parts[1] + "."},
		{name: "alg none", header: "Bearer " + unsignedToken(t, map[string]any{"user_id": uid, "exp": now.Add(time.Hour).Unix()})},
		{name: "alg none in access_token", query: unsignedToken(t, map[string]any{"user_id": uid, "exp": now.Add(time.Hour).Unix()})},
		{name: "HS384 with the same secret", header: "Bearer " + signToken(t, jwt.SigningMethodHS384, testSecret, valid())},
		{name: "HS512 with the same secret", header: "Bearer " + signToken(t, jwt.SigningMethodHS512, testSecret, valid())},
		{name: "expired 40 s ago", header: "Bearer " + signToken(t, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"user_id": uid, "exp": now.Add(-40 * time.Second).Unix()})},
		{name: "expired a day ago", header: "Bearer " + signToken(t, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"user_id": uid, "exp": now.Add(-24 * time.Hour).Unix()})},
		{name: "no exp", header: "Bearer " + signToken(t, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"user_id": uid})},
		{name: "exp not a number", header: "Bearer " + signToken(t, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"user_id": uid, "exp": "tomorrow"})},
		{name: "user_id not a UUID", header: "Bearer " + signToken(t, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"user_id": "42", "exp": now.Add(time.Hour).Unix()})},
		{name: "user_id not a UUID, valid sub", header: "Bearer " + signToken(t, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"user_id": "alice", "sub": uid, "exp": now.Add(time.Hour).Unix()})},
		{name: "user_id a number, valid sub", header: "Bearer " + signToken(t, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"user_id": 42, "sub": uid, "exp": now.Add(time.Hour).Unix()})},
		{name: "user_id without hyphens", header: "Bearer " + signToken(t, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"user_id": strings.ReplaceAll(uid, "-", ""), "exp": now.Add(time.Hour).Unix()})},
		{name: "no user_id, sub not a UUID", header: "Bearer " + signToken(t, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"sub": "alice", "exp": now.Add(time.Hour).Unix()})},
		{name: "neither user_id nor sub", header: "Bearer " + signToken(t, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"exp": now.Add(time.Hour).Unix()})},
		{name: "not valid yet", header: "Bearer " + signToken(t, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"user_id": uid, "exp": now.Add(2 * time.Hour).Unix(), "nbf": now.Add(time.Hour).Unix()})},
		{name: "invalid header, valid access_token", header: "Bearer junk", query: good},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := "/api/v2/contacts"
			if tc.query != "" {
				path += "?access_token=" + url.QueryEscape(tc.query)
			}
			r := a.do(req{Method: "GET", Path: path, Header: map[string]string{"Authorization": tc.header}})
			if tc.ok {
				r.want(t, http.StatusOK, "")
				return
			}
			wantErrorDoc(t, r, http.StatusUnauthorized, "")
			if h := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(h, "Bearer") {
				t.Errorf("WWW-Authenticate %q, want it to start with Bearer", h)
			}
		})
	}
}

// TestAuthTokenLifetime: a token may live at most the maximum lifetime
// (Config.MaxTokenTTL, default 30 days): exp further ahead than it (plus the
// leeway), or exp - iat longer than it, is 401; so is nbf or iat in the
// future beyond the leeway, or a time claim that is not a number. Tokens
// within the limits, the leeway included, are accepted.
func TestAuthTokenLifetime(t *testing.T) {
	now := time.Now()
	uid := uuid.NewString()
	year9999 := time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC).Unix()
	token := func(claims jwt.MapClaims) string {
		claims["user_id"] = uid
		return signToken(t, jwt.SigningMethodHS256, testSecret, claims)
	}
	issued := func(ttl time.Duration) string {
		tok, err := IssueToken(testSecret, uid, ttl, now)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	day := 24 * time.Hour
	cases := []struct {
		name   string
		maxTTL time.Duration // Config.MaxTokenTTL; 0 is the default
		token  string
		ok     bool
	}{
		{name: "IssueToken for the default maximum", token: issued(DefaultMaxTokenTTL), ok: true},
		{name: "exp 30 days ahead, no iat", token: token(jwt.MapClaims{"exp": now.Add(30 * day).Unix()}), ok: true},
		{name: "exp 30 days and 20 s ahead, within the leeway", token: token(jwt.MapClaims{"exp": now.Add(30*day + 20*time.Second).Unix()}), ok: true},
		{name: "nbf and iat now", token: token(jwt.MapClaims{"exp": now.Add(time.Hour).Unix(), "nbf": now.Unix(), "iat": now.Unix()}), ok: true},
		{name: "nbf and iat 10 s ahead, within the leeway", token: token(jwt.MapClaims{"exp": now.Add(time.Hour).Unix(), "nbf": now.Add(10 * time.Second).Unix(), "iat": now.Add(10 * time.Second).Unix()}), ok: true},
		{name: "exp - iat exactly 30 days", token: token(jwt.MapClaims{"exp": now.Add(29 * day).Unix(), "iat": now.Add(-day).Unix()}), ok: true},
		{name: "a 1h maximum, exp 1h ahead", maxTTL: time.Hour, token: token(jwt.MapClaims{"exp": now.Add(time.Hour).Unix()}), ok: true},

		{name: "exp a year ahead", token: token(jwt.MapClaims{"exp": now.Add(365 * day).Unix()})},
		{name: "exp in the year 9999", token: token(jwt.MapClaims{"exp": year9999})},
		{name: "exp in the year 9999, iat now", token: token(jwt.MapClaims{"exp": year9999, "iat": now.Unix()})},
		{name: "exp 30 days and 1 min ahead", token: token(jwt.MapClaims{"exp": now.Add(30*day + time.Minute).Unix()})},
		{name: "IssueToken for 31 days", token: issued(31 * day)},
		{name: "exp - iat 31 days, exp an hour ahead", token: token(jwt.MapClaims{"exp": now.Add(time.Hour).Unix(), "iat": now.Add(-31 * day).Unix()})},
		{name: "nbf 5 min ahead", token: token(jwt.MapClaims{"exp": now.Add(time.Hour).Unix(), "nbf": now.Add(5 * time.Minute).Unix()})},
		{name: "iat 5 min ahead", token: token(jwt.MapClaims{"exp": now.Add(time.Hour).Unix(), "iat": now.Add(5 * time.Minute).Unix()})},
		{name: "iat 40 s ahead", token: token(jwt.MapClaims{"exp": now.Add(time.Hour).Unix(), "iat": now.Add(40 * time.Second).Unix()})},
		{name: "iat not a number", token: token(jwt.MapClaims{"exp": now.Add(time.Hour).Unix(), "iat": "yesterday"})},
		{name: "nbf not a number", token: token(jwt.MapClaims{"exp": now.Add(time.Hour).Unix(), "nbf": "now"})},
		{name: "a 1h maximum, exp 2h ahead", maxTTL: time.Hour, token: token(jwt.MapClaims{"exp": now.Add(2 * time.Hour).Unix()})},
		{name: "a 1h maximum, IssueToken for 2h", maxTTL: time.Hour, token: issued(2 * time.Hour)},
	}
	apis := map[time.Duration]*api{0: newAPI(t), time.Hour: newAPIWith(t, Config{MaxTokenTTL: time.Hour})}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := apis[tc.maxTTL]
			r := a.do(req{Method: "GET", Path: "/api/v2/contacts", Token: tc.token})
			if tc.ok {
				r.want(t, http.StatusOK, "")
				return
			}
			wantErrorDoc(t, r, http.StatusUnauthorized, "")
			if h := r.Header.Get("WWW-Authenticate"); h != `Bearer error="invalid_token"` {
				t.Errorf("WWW-Authenticate %q", h)
			}
			// The same token again (a cache hit, were it cached) is refused too.
			wantErrorDoc(t, a.do(req{Method: "GET", Path: "/api/v2/contacts", Token: tc.token}), http.StatusUnauthorized, "")
		})
	}
}

// Every operation needs a token, checked before the resource is looked up.
func TestAuthRequiredOnEveryOperation(t *testing.T) {
	a := newAPI(t)
	tr := a.tree()
	before := snapshot(t, a, tr.tok, tr.contactPath(), tr.personPath(), tr.phonePath())
	expired := signToken(t, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"user_id": uuid.NewString(), "exp": time.Now().Add(-time.Hour).Unix()})
	for _, op := range allOps(t, a, tr.tok, tr) {
		for _, tok := range []struct{ name, value string }{{"none", ""}, {"expired", expired}} {
			t.Run(op.name+"/"+tok.name, func(t *testing.T) {
				r := a.do(req{Method: op.method, Path: op.path, Token: tok.value, Body: op.body})
				wantErrorDoc(t, r, http.StatusUnauthorized, "")
				if h := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(h, "Bearer") {
					t.Errorf("WWW-Authenticate %q", h)
				}
			})
		}
	}
	sameSnapshot(t, before, snapshot(t, a, tr.tok, tr.contactPath(), tr.personPath(), tr.phonePath()))
	if n := len(mustGet(t, a, tr.tok, "/api/v2/contacts").list()); n != 1 {
		t.Errorf("%d contacts, want 1", n)
	}
}

// The user is the token's user_id (or sub), whatever its case and however
// the token is sent.
func TestAuthSameUserAcrossTokenForms(t *testing.T) {
	a := newAPI(t)
	uid := uuid.NewString()
	exp := time.Now().Add(time.Hour).Unix()
	bySub := signToken(t, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"sub": uid, "exp": exp})
	r := a.do(req{Method: "POST", Path: "/api/v2/contacts", Token: bySub, Body: doc("contacts", map[string]any{"name": "Mine"})})
	r.want(t, http.StatusCreated, "")
	id := r.id()

	issued, err := IssueToken(testSecret, strings.ToUpper(uid), time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, tok, query string }{
		{"user_id", signToken(t, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"user_id": uid, "exp": exp}), ""},
		{"upper-case user_id", signToken(t, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"user_id": strings.ToUpper(uid), "exp": exp}), ""},
		{"IssueToken", issued, ""},
		{"access_token", "", issued},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := "/api/v2/contacts"
			if tc.query != "" {
				path += "?access_token=" + url.QueryEscape(tc.query)
			}
			r := a.do(req{Method: "GET", Path: path, Token: tc.tok})
			r.want(t, http.StatusOK, "")
			if ids := idsOf(r.list()); !sameStrings(ids, []string{id}) {
				t.Errorf("contacts %v, want [%s]", ids, id)
			}
			r = a.do(req{Method: "GET", Path: "/api/v2/contacts/" + id + queryOf(path), Token: tc.tok})
			r.want(t, http.StatusOK, "")
		})
	}
	// Another user sees nothing of it.
	other := a.user()
	if n := len(mustGet(t, a, other, "/api/v2/contacts").list()); n != 0 {
		t.Errorf("another user sees %d contacts", n)
	}
	wantErrorDoc(t, a.do(req{Method: "GET", Path: "/api/v2/contacts/" + id, Token: other}), http.StatusForbidden, "")
}

func queryOf(path string) string {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		return path[i:]
	}
	return ""
}

// User B gets 403 on every operation against user A's contact, person and
// phone, and A's data is unchanged.
func TestAuthorizationOtherUsersData(t *testing.T) {
	a := newAPI(t)
	owner := a.tree()
	intruder := a.tree()
	paths := []string{
		"/api/v2/contacts", owner.contactPath(), owner.contactPath() + "/people", owner.personPath(),
		owner.phonesPath(), owner.phonePath(),
	}
	before := snapshot(t, a, owner.tok, paths...)
	intruderBefore := snapshot(t, a, intruder.tok, "/api/v2/contacts", intruder.contactPath()+"/people", intruder.phonesPath())

	for _, op := range allOps(t, a, owner.tok, owner) {
		if op.path == "/api/v2/contacts" {
			continue // the collection is the caller's own; see below
		}
		t.Run(op.name, func(t *testing.T) {
			r := a.do(req{Method: op.method, Path: op.path, Token: intruder.tok, Body: op.body})
			wantErrorDoc(t, r, http.StatusForbidden, "")
		})
		t.Run(op.name+"/upper-case ids", func(t *testing.T) {
			path := strings.NewReplacer(owner.contact, strings.ToUpper(owner.contact), owner.person, strings.ToUpper(owner.person), owner.phone, strings.ToUpper(owner.phone)).Replace(op.path)
			r := a.do(req{Method: op.method, Path: path, Token: intruder.tok, Body: op.body})
			wantErrorDoc(t, r, http.StatusForbidden, "")
		})
		t.Run(op.name+"/overwrite", func(t *testing.T) {
			if op.method != "PUT" && op.method != "PATCH" {
				t.Skip("no body")
			}
			var body map[string]any
			switch {
			case strings.Contains(op.path, "/phones/"):
				body = doc("phone_numbers", map[string]any{"overwrite": true, "number": "617-555-0000", "primary": false})
			case strings.Contains(op.path, "/people/"):
				body = doc("people", map[string]any{"overwrite": true, "last_name": nil})
			default:
				body = doc("contacts", map[string]any{"overwrite": true, "name": "Taken"})
			}
			r := a.do(req{Method: op.method, Path: op.path, Token: intruder.tok, Body: body})
			wantErrorDoc(t, r, http.StatusForbidden, "")
		})
	}

	sameSnapshot(t, before, snapshot(t, a, owner.tok, paths...))
	// Nothing was created for the intruder either.
	sameSnapshot(t, intruderBefore, snapshot(t, a, intruder.tok, "/api/v2/contacts", intruder.contactPath()+"/people", intruder.phonesPath()))

	// The owner still has full access.
	for _, op := range allOps(t, a, owner.tok, owner) {
		if op.method != "GET" {
			continue
		}
		a.do(req{Method: op.method, Path: op.path, Token: owner.tok}).want(t, http.StatusOK, "")
	}
}

// Lists show only what the caller may see; unknown or mismatched ids are
// 404 for everyone.
func TestAuthorizationListsAndNotFound(t *testing.T) {
	a := newAPI(t)
	owner := a.tree()
	second := a.contact(owner.tok)
	intruder := a.tree()

	ids := idsOf(mustGet(t, a, intruder.tok, "/api/v2/contacts").list())
	if !sameStrings(ids, []string{intruder.contact}) {
		t.Errorf("intruder's contacts %v, want only [%s]", ids, intruder.contact)
	}
	ids = idsOf(mustGet(t, a, owner.tok, "/api/v2/contacts").list())
	if !sameStrings(ids, []string{owner.contact, second}) {
		t.Errorf("owner's contacts %v, want [%s %s]", ids, owner.contact, second)
	}

	random := uuid.NewString()
	for _, tc := range []struct {
		name, method, path string
		code               int
	}{
		{"unknown contact", "GET", "/api/v2/contacts/" + random, 404},
		{"unknown contact's people", "GET", "/api/v2/contacts/" + random + "/people", 404},
		{"owner's person under the intruder's contact", "GET", intruder.contactPath() + "/people/" + owner.person, 404},
		{"owner's person's phones under the intruder's contact", "GET", phonesPath(intruder.contact, owner.person), 404},
		{"owner's phone under the intruder's person", "GET", intruder.phonesPath() + "/" + owner.phone, 404},
		{"delete owner's phone under the intruder's person", "DELETE", intruder.phonesPath() + "/" + owner.phone, 404},
		{"delete owner's person under the intruder's contact", "DELETE", intruder.contactPath() + "/people/" + owner.person, 404},
		{"owner's contact, unknown person", "GET", owner.contactPath() + "/people/" + random, 403},
		{"owner's contact, intruder's person", "GET", owner.contactPath() + "/people/" + intruder.person, 403},
		{"owner's contact, intruder's phone", "DELETE", owner.phonesPath() + "/" + intruder.phone, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantErrorDoc(t, a.do(req{Method: tc.method, Path: tc.path, Token: intruder.tok}), tc.code, "")
		})
	}
	// The deletes above found nothing to delete.
	mustGet(t, a, owner.tok, owner.phonePath())
	mustGet(t, a, owner.tok, owner.personPath())
	mustGet(t, a, intruder.tok, intruder.phonePath())
}

// TestTokenCache: a cached token is refused once it has expired (with the
// leeway), and before its nbf or iat or while its exp is further ahead
// than the maximum lifetime (with the leeway), exactly as parseToken would
// refuse it; a token differing from a cached one by its signature is still
// refused, and the cache stays bounded.
func TestTokenCache(t *testing.T) {
	t0 := time.Now().Truncate(time.Second)
	user := "0b0e5f8e-79a5-4f5e-9d7e-4bd8b2b3a001"
	tok, err := IssueToken(testSecret, user, time.Minute, t0)
	if err != nil {
		t.Fatal(err)
	}
	// Valid from nbf = t0 + 1h, until exp = t0 + 2h (with the leeway).
	later := signToken(t, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"user_id": user,
		"nbf": t0.Add(time.Hour).Unix(), "exp": t0.Add(2 * time.Hour).Unix()})
	// Issued at t0 + 1h.
	issuedLater, err := IssueToken(testSecret, user, time.Minute, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	// No iat; exp t0 + 3h, which is within a 1h maximum lifetime from t0 + 2h.
	farExp := signToken(t, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"user_id": user, "exp": t0.Add(3 * time.Hour).Unix()})
	const maxTTL = time.Hour
	var tc tokenCache
	// Change one character in the middle of the signature.
	i := strings.LastIndex(tok, ".") + 10
	swap := byte('A')
	if tok[i] == 'A' {
		swap = 'B'
	}
	tampered := tok[:i] + string(swap) + tok[i+1:]
	tests := []struct {
		name    string
		token   string
		at      time.Time
		wantErr bool
	}{
		{"first use verifies", tok, t0, false},
		{"second use, from the cache", tok, t0.Add(30 * time.Second), false},
		{"tampered signature", tampered, t0, true},
		{"within the leeway after exp", tok, t0.Add(time.Minute + leeway - time.Second), false},
		{"after exp and the leeway", tok, t0.Add(time.Minute + leeway + time.Second), true},
		{"before exp again", tok, t0.Add(time.Second), false},

		// Each "cached" case follows one that cached the token.
		{"before nbf", later, t0, true},
		{"after nbf", later, t0.Add(time.Hour), false},
		{"within the leeway before nbf, cached", later, t0.Add(time.Hour - leeway), false},
		{"before the leeway before nbf, cached", later, t0.Add(time.Hour - leeway - time.Second), true},
		{"after nbf again", later, t0.Add(time.Hour), false},
		{"long before nbf, cached", later, t0, true},

		{"after iat", issuedLater, t0.Add(time.Hour), false},
		{"before iat and the leeway, cached", issuedLater, t0.Add(time.Hour - leeway - time.Second), true},

		{"exp further ahead than the maximum", farExp, t0, true},
		{"exp within the maximum", farExp, t0.Add(2 * time.Hour), false},
		{"exp within the maximum and the leeway, cached", farExp, t0.Add(2*time.Hour - leeway), false},
		{"exp further ahead than the maximum and the leeway, cached", farExp, t0.Add(2*time.Hour - leeway - time.Second), true},
	}
	for _, tt := range tests {
		got, err := tc.verify(testSecret, tt.token, tt.at, maxTTL)
		switch {
		case tt.wantErr && err == nil:
			t.Errorf("%s: user %q, want an error", tt.name, got)
		case !tt.wantErr && (err != nil || got != user):
			t.Errorf("%s: %q, %v; want %q", tt.name, got, err, user)
		}
		// The cache agrees with a fresh verification.
		if _, perr := parseToken(testSecret, tt.token, tt.at, maxTTL); (perr != nil) != tt.wantErr {
			t.Errorf("%s: parseToken: %v, want an error: %v", tt.name, perr, tt.wantErr)
		}
	}
	if _, ok := tc.m[tampered]; ok {
		t.Error("a refused token was cached")
	}
	for i := range maxCachedTokens + 10 {
		u := fmt.Sprintf("0b0e5f8e-79a5-4f5e-9d7e-%012d", i)
		tok, err := IssueToken(testSecret, u, time.Minute, t0)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := tc.verify(testSecret, tok, t0, maxTTL); err != nil || got != u {
			t.Fatalf("token %d: %q, %v", i, got, err)
		}
	}
	if n := len(tc.m); n > maxCachedTokens {
		t.Errorf("cache holds %d tokens, want at most %d", n, maxCachedTokens)
	}
}

// allOps returns all seventeen operations against tr, each with a body
// that is valid (updates carry the stored updated_in_db_at, read with tok).
func allOps(t testing.TB, a *api, tok string, tr tree) []operation {
	t.Helper()
	pre := func(path string) string {
		s, _ := mustGet(t, a, tok, path).attrs()["updated_in_db_at"].(string)
		return s
	}
	cPre, pPre, phPre := pre(tr.contactPath()), pre(tr.personPath()), pre(tr.phonePath())
	return []operation{
		{"listContacts", "GET", "/api/v2/contacts", nil},
		{"createContact", "POST", "/api/v2/contacts", doc("contacts", map[string]any{"name": "X"})},
		{"getContact", "GET", tr.contactPath(), nil},
		{"putContact", "PUT", tr.contactPath(), doc("contacts", map[string]any{"name": "Taken", "updated_in_db_at": cPre})},
		{"patchContact", "PATCH", tr.contactPath(), doc("contacts", map[string]any{"name": "Taken", "updated_in_db_at": cPre})},
		{"deleteContact", "DELETE", tr.contactPath(), nil},
		{"listPeople", "GET", tr.contactPath() + "/people", nil},
		{"createPerson", "POST", tr.contactPath() + "/people", doc("people", map[string]any{"first_name": "Intruder"})},
		{"getPerson", "GET", tr.personPath(), nil},
		{"putPerson", "PUT", tr.personPath(), doc("people", map[string]any{"first_name": "Taken", "updated_in_db_at": pPre})},
		{"patchPerson", "PATCH", tr.personPath(), doc("people", map[string]any{"first_name": "Taken", "updated_in_db_at": pPre})},
		{"deletePerson", "DELETE", tr.personPath(), nil},
		{"listPhones", "GET", tr.phonesPath(), nil},
		{"createPhone", "POST", tr.phonesPath(), doc("phone_numbers", map[string]any{"number": "617-555-9999"})},
		{"getPhone", "GET", tr.phonePath(), nil},
		{"putPhone", "PUT", tr.phonePath(), doc("phone_numbers", map[string]any{"location": "taken", "updated_in_db_at": phPre})},
		{"patchPhone", "PATCH", tr.phonePath(), doc("phone_numbers", map[string]any{"location": "taken", "updated_in_db_at": phPre})},
		{"deletePhone", "DELETE", tr.phonePath(), nil},
	}
}
