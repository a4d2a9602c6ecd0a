package handlers

// Abuse and bad input: per-user rate limiting, string length limits, deeply
// nested bodies, security headers, tokens of other algorithms, and the
// size of the header fields.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/phoneapi/phoneapi/db/dbtest"
)

// want429 checks a rate-limited response: 429, a JSON:API error, and a
// Retry-After of whole seconds within [min, max].
func want429(t *testing.T, r *resp, min, max int) {
	t.Helper()
	wantErrorDoc(t, r, http.StatusTooManyRequests, "")
	ra := r.Header.Get("Retry-After")
	n, err := strconv.Atoi(ra)
	if err != nil || n < min || n > max {
		t.Errorf("Retry-After %q, want whole seconds in [%d, %d]", ra, min, max)
	}
}

// TestRateLimitBurstThen429 spends a user's burst, then gets 429 with
// Retry-After on every kind of request (a refused request is answered before
// content negotiation and body validation), while another user, and
// requests without a valid token, are unaffected.
func TestRateLimitBurstThen429(t *testing.T) {
	// One token every 1000 s: the bucket does not refill during the test.
	a := newAPIWith(t, Config{RateLimit: 0.001, RateBurst: 3})
	alice, bob := a.user(), a.user()

	for i := 0; i < 3; i++ {
		a.do(req{Method: "GET", Path: "/api/v2/contacts", Token: alice}).want(t, http.StatusOK, "")
	}
	r := a.do(req{Method: "GET", Path: "/api/v2/contacts", Token: alice})
	want429(t, r, 990, 1000)
	if !strings.Contains(r.firstError()["detail"].(string), "retry after") {
		t.Errorf("429 detail %q does not say when to retry", r.firstError()["detail"])
	}

	// Every operation is limited, before negotiation (415) and validation (400).
	want429(t, a.do(req{Method: "POST", Path: "/api/v2/contacts", Token: alice, Body: "{",
		Header: map[string]string{"Content-Type": "text/plain"}}), 1, 1000)
	want429(t, a.do(req{Method: "GET", Path: "/api/v2/deleted_records", Token: alice}), 1, 1000)
	want429(t, a.do(req{Method: "DELETE", Path: "/api/v2/contacts/" + uuid.NewString(), Token: alice}), 1, 1000)

	// Bob has his own bucket, whatever Alice did.
	for i := 0; i < 3; i++ {
		a.do(req{Method: "GET", Path: "/api/v2/contacts", Token: bob}).want(t, http.StatusOK, "")
	}
	want429(t, a.do(req{Method: "GET", Path: "/api/v2/contacts", Token: bob}), 1, 1000)

	// A fresh token of the same user shares the user's bucket.
	again, err := IssueToken(testSecret, mustUserID(t, alice), time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	want429(t, a.do(req{Method: "GET", Path: "/api/v2/contacts", Token: again}), 1, 1000)

	// Authentication comes first: no token is still 401, not 429.
	wantErrorDoc(t, a.do(req{Method: "GET", Path: "/api/v2/contacts"}), http.StatusUnauthorized, "")

	// Carol, who has not been limited, gets everything.
	carol := a.user()
	a.do(req{Method: "GET", Path: "/api/v2/contacts", Token: carol}).want(t, http.StatusOK, "")
}

// mustUserID returns the user id of one of our own tokens.
func mustUserID(t *testing.T, tok string) string {
	t.Helper()
	v, err := parseToken(testSecret, tok, time.Now(), DefaultMaxTokenTTL)
	if err != nil {
		t.Fatal(err)
	}
	return v.userID
}

// TestRateLimitConcurrentUsers: many goroutines for two users at once; each
// user gets exactly its burst of 200s, whatever the interleaving.
func TestRateLimitConcurrentUsers(t *testing.T) {
	const burst = 5
	a := newAPIWith(t, Config{RateLimit: 0.001, RateBurst: burst})
	users := []string{a.user(), a.user()}
	codes := dbtest.Together(len(users)*4*burst, func(i int) int {
		hr := httptest.NewRequest("GET", "/api/v2/contacts", nil)
		hr.Header.Set("Authorization", "Bearer "+users[i%len(users)])
		rec := httptest.NewRecorder()
		a.e.ServeHTTP(rec, hr)
		return rec.Code
	})
	ok := map[string]int{}
	limited := map[string]int{}
	for i, code := range codes {
		u := users[i%len(users)]
		switch code {
		case http.StatusOK:
			ok[u]++
		case http.StatusTooManyRequests:
			limited[u]++
		default:
			t.Errorf("request %d: status %d", i, code)
		}
	}
	for i, u := range users {
		if ok[u] != burst || limited[u] != 3*burst {
			t.Errorf("user %d: %d OK and %d limited, want %d and %d", i, ok[u], limited[u], burst, 3*burst)
		}
	}
}

// TestRateLimitDisabled: RateLimit 0 (the zero Config) never answers 429.
func TestRateLimitDisabled(t *testing.T) {
	a := newAPIWith(t, Config{RateLimit: 0, RateBurst: 1})
	tok := a.user()
	for i := 0; i < 150; i++ {
		a.do(req{Method: "GET", Path: "/api/v2/contacts?per_page=1", Token: tok}).want(t, http.StatusOK, "")
	}
}

// TestRateLimiterRefill: the bucket refills at the rate, the wait it reports
// is exact, and refused requests cost nothing.
func TestRateLimiterRefill(t *testing.T) {
	clk := dbtest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	l := newRateLimiter(10, 2, clk.Now) // a token every 100 ms
	for i := 0; i < 2; i++ {
		if ok, _ := l.allow("u"); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	ok, wait := l.allow("u")
	if ok || wait != 100*time.Millisecond {
		t.Fatalf("third request: ok %v, wait %v; want refused, 100ms", ok, wait)
	}
	for i := 0; i < 50; i++ { // hammering while empty does not push the refill back
		l.allow("u")
	}
	clk.Add(60 * time.Millisecond)
	if ok, wait := l.allow("u"); ok || wait != 40*time.Millisecond {
		t.Fatalf("after 60ms: ok %v, wait %v; want refused, 40ms", ok, wait)
	}
	clk.Add(40 * time.Millisecond)
	if ok, _ := l.allow("u"); !ok {
		t.Fatal("refused after the refill time")
	}
	if ok, _ := l.allow("u"); ok {
		t.Fatal("allowed twice after one refill")
	}
	if newRateLimiter(0, 10, nil) != nil {
		t.Error("rate 0 should disable the limiter")
	}
}

// TestRateLimiterEvictsIdleBuckets: memory is bounded by the active users:
// buckets idle for a whole refill period (so full again) are dropped, busy
// ones are kept with their state.
func TestRateLimiterEvictsIdleBuckets(t *testing.T) {
	clk := dbtest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	l := newRateLimiter(1, 100, clk.Now) // refill period 100 s
	for i := 0; i < 5000; i++ {
		l.allow("idle-" + strconv.Itoa(i))
	}
	for i := 0; i < 100; i++ {
		l.allow("busy")
	}
	if n := l.size(); n != 5001 {
		t.Fatalf("%d buckets, want 5001", n)
	}
	clk.Add(61 * time.Second) // a sweep is due; nobody is full yet
	l.allow("other")
	if n := l.size(); n != 5002 {
		t.Fatalf("after 61 s: %d buckets, want 5002 (none full yet)", n)
	}
	// busy kept its state: 61 tokens back, not a fresh 100.
	for i := 0; i < 61; i++ {
		if ok, _ := l.allow("busy"); !ok {
			t.Fatalf("busy refused at %d of 61", i)
		}
	}
	if ok, _ := l.allow("busy"); ok {
		t.Fatal("busy's bucket was reset")
	}
	clk.Add(61 * time.Second) // 122 s idle for idle-*: full, dropped
	l.allow("other")
	if n := l.size(); n != 2 {
		t.Fatalf("after 122 s: %d buckets, want 2 (busy and other)", n)
	}
}

// TestDeepJSONRejected: nesting deeper than maxJSONDepth is 400 before
// decoding, anywhere in the body; brackets inside strings do not count.
func TestDeepJSONRejected(t *testing.T) {
	a := newAPI(t)
	tok := a.user()
	nested := func(depth int) string { return strings.Repeat("[", depth) + strings.Repeat("]", depth) }
	for _, tc := range []struct {
		name, body string
	}{
		{"in an attribute", `{"data":{"type":"contacts","attributes":{"name":` + nested(40) + `}}}`},
		{"in meta", `{"data":{"type":"contacts","attributes":{"name":"x"}},"meta":` + nested(40) + `}`},
		{"objects", `{"data":{"type":"contacts","attributes":{"name":"x","n":` + strings.Repeat(`{"a":`, 40) + "1" + strings.Repeat("}", 40) + `}}}`},
		{"very deep and unterminated", strings.Repeat("[", 500000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := a.do(req{Method: "POST", Path: "/api/v2/contacts", Token: tok, Body: tc.body})
			wantErrorDoc(t, r, http.StatusBadRequest, "")
			if d, _ := r.firstError()["detail"].(string); !strings.Contains(d, "deeper than 32") {
				t.Errorf("detail %q, want the nesting limit", d)
			}
		})
	}
	// At the limit, other checks decide; brackets in strings are text.
	r := a.do(req{Method: "POST", Path: "/api/v2/contacts", Token: tok,
		Body: `{"data":{"type":"contacts","attributes":{"name":` + nested(29) + `}}}`})
	wantErrorDoc(t, r, http.StatusBadRequest, "/data/attributes/name")
	name := strings.Repeat(`[{\"`, 50)
	r = a.do(req{Method: "POST", Path: "/api/v2/contacts", Token: tok,
		Body: `{"data":{"type":"contacts","attributes":{"name":"` + name + `"}}}`})
	r.want(t, http.StatusCreated, "")
	if got := r.attrs()["name"]; got != strings.ReplaceAll(name, `\"`, `"`) {
		t.Errorf("name %q", got)
	}
}

func TestCheckDepth(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{`{}`, true},
		{strings.Repeat("[", 32) + strings.Repeat("]", 32), true},
		{strings.Repeat("[", 33) + strings.Repeat("]", 33), false},
		{`["` + strings.Repeat("[", 100) + `"]`, true},
		{`["\\"` + strings.Repeat(",[", 40) + `]`, false}, // the escaped backslash ends the escape, not the string
		{`["\"` + strings.Repeat("[", 40) + `"]`, true},   // an escaped quote does not end the string
		{strings.Repeat("[]", 1000), true},
		{strings.Repeat("]", 100) + strings.Repeat("[", 32), true}, // broken, but left to the decoder
	} {
		if deep := scanBody([]byte(tc.in), 32).tooDeep; deep == tc.ok {
			t.Errorf("scanBody(%.40q…).tooDeep = %v, want %v", tc.in, deep, !tc.ok)
		}
	}
}

// TestStringLengthLimits: every string attribute has a maximum length in the
// spec, enforced on create and update with a 400 pointing at the attribute;
// the maximum itself is accepted (counted in characters, not bytes).
func TestStringLengthLimits(t *testing.T) {
	a := newAPI(t)
	tr := a.tree()
	long := func(n int) string { return strings.Repeat("a", n) }
	ts := "2026-11-28T05:51:57.123Z"
	longTS := ts[:len(ts)-1] + strings.Repeat("0", 60) + "Z" // well-formed, 84 characters
	cases := []struct {
		name   string
		method string
		path   string
		typ    string
		attrs  map[string]any
		ptr    string
	}{
		{"contact name", "POST", "/api/v2/contacts", "contacts", map[string]any{"name": long(256)}, "/data/attributes/name"},
		{"contact name on update", "PATCH", tr.contactPath(), "contacts", map[string]any{"name": long(256), "overwrite": true}, "/data/attributes/name"},
		{"contact created_at", "POST", "/api/v2/contacts", "contacts", map[string]any{"name": "x", "created_at": longTS}, "/data/attributes/created_at"},
		{"contact updated_at", "POST", "/api/v2/contacts", "contacts", map[string]any{"name": "x", "updated_at": longTS}, "/data/attributes/updated_at"},
		{"ignored updated_in_db_at on create", "POST", "/api/v2/contacts", "contacts", map[string]any{"name": "x", "updated_in_db_at": long(65)}, "/data/attributes/updated_in_db_at"},
		{"updated_in_db_at precondition", "PATCH", tr.contactPath(), "contacts", map[string]any{"name": "x", "updated_in_db_at": longTS}, "/data/attributes/updated_in_db_at"},
		{"first_name", "POST", tr.contactPath() + "/people", "people", map[string]any{"first_name": long(256)}, "/data/attributes/first_name"},
		{"last_name", "POST", tr.contactPath() + "/people", "people", map[string]any{"first_name": "x", "last_name": long(256)}, "/data/attributes/last_name"},
		{"last_name on update", "PUT", tr.personPath(), "people", map[string]any{"last_name": long(256), "overwrite": true}, "/data/attributes/last_name"},
		{"number", "POST", tr.phonesPath(), "phone_numbers", map[string]any{"number": "617555121" + strings.Repeat("2", 56)}, "/data/attributes/number"},
		{"location", "POST", tr.phonesPath(), "phone_numbers", map[string]any{"number": "6175551213", "location": long(65)}, "/data/attributes/location"},
		{"source", "POST", tr.phonesPath(), "phone_numbers", map[string]any{"number": "6175551213", "source": long(65)}, "/data/attributes/source"},
		{"source on update", "PATCH", tr.phonePath(), "phone_numbers", map[string]any{"source": long(65), "overwrite": true}, "/data/attributes/source"},
		{"country_code", "POST", tr.phonesPath(), "phone_numbers", map[string]any{"number": "6175551213", "country_code": "+" + long(300)}, "/data/attributes/country_code"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := a.do(req{Method: tc.method, Path: tc.path, Token: tr.tok, Body: doc(tc.typ, tc.attrs)})
			wantErrorDoc(t, r, http.StatusBadRequest, tc.ptr)
		})
	}
	// The maxima themselves, multi-byte characters counted once.
	wide := strings.Repeat("é", 255)
	r := a.do(req{Method: "POST", Path: "/api/v2/contacts", Token: tr.tok, Body: doc("contacts", map[string]any{"name": wide})})
	r.want(t, http.StatusCreated, "")
	r = a.do(req{Method: "POST", Path: tr.contactPath() + "/people", Token: tr.tok, Body: doc("people", map[string]any{"first_name": wide, "last_name": wide})})
	r.want(t, http.StatusCreated, "")
	a.phone(tr.tok, tr.contact, tr.person, map[string]any{"number": "6175551214", "location": long(64), "source": long(64)})
	// A long client id is 400 at /data/id.
	wantErrorDoc(t, a.do(req{Method: "POST", Path: "/api/v2/contacts", Token: tr.tok,
		Body: map[string]any{"data": map[string]any{"type": "contacts", "id": uuid.NewString() + long(1000), "attributes": map[string]any{"name": "x"}}}}),
		http.StatusBadRequest, "/data/id")
	// Long query values are 400 with source.parameter.
	for _, q := range []string{"filter[updated_at]=" + long(200), "fields[contacts]=" + long(300)} {
		r := a.do(req{Method: "GET", Path: "/api/v2/contacts?" + q, Token: tr.tok})
		wantErrorDoc(t, r, http.StatusBadRequest, "")
		if src, _ := r.firstError()["source"].(map[string]any); src["parameter"] == nil {
			t.Errorf("%s: no source.parameter:\n%s", q, r.Raw)
		}
	}
}

// TestSecurityHeaders: nosniff on every response; no-store on every API
// response, errors included; the docs page keeps its CSP and own caching.
func TestSecurityHeaders(t *testing.T) {
	a := newAPIWith(t, Config{RateLimit: 0.001, RateBurst: 1})
	tok, other := a.user(), a.user()
	somePath := "/api/v2/contacts/" + uuid.NewString()
	api := []struct {
		name string
		r    req
		code int
	}{
		{"list", req{Method: "GET", Path: "/api/v2/contacts", Token: other}, http.StatusOK},
		{"429", req{Method: "GET", Path: "/api/v2/contacts", Token: other}, http.StatusTooManyRequests},
		{"401", req{Method: "GET", Path: "/api/v2/contacts"}, http.StatusUnauthorized},
		{"404 route", req{Method: "GET", Path: "/api/v2/nothing", Token: tok}, http.StatusNotFound},
		{"404 non-UUID id", req{Method: "GET", Path: "/api/v2/contacts/42", Token: tok}, http.StatusNotFound},
		{"405", req{Method: "POST", Path: somePath, Token: tok}, http.StatusMethodNotAllowed},
		{"403 or 404 lookup", req{Method: "GET", Path: somePath, Token: tok}, http.StatusNotFound},
		{"400", req{Method: "GET", Path: "/api/v2/contacts?page=0", Token: a.user()}, http.StatusBadRequest},
	}
	for _, tc := range api {
		t.Run(tc.name, func(t *testing.T) {
			r := a.do(tc.r)
			if r.Code != tc.code {
				t.Fatalf("status %d, want %d\n%s", r.Code, tc.code, r.Raw)
			}
			if got := r.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options %q, want nosniff", got)
			}
			if got := r.Header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", got)
			}
		})
	}
	for _, tc := range []struct {
		path, csp, cache string
		code             int
	}{
		{"/docs", docsCSP, "no-cache", http.StatusOK},
		{"/openapi.json", "", "no-cache", http.StatusOK},
		{"/openapi.yaml", "", "no-cache", http.StatusOK},
		{"/", "", "", http.StatusFound},
		{"/nothing", "", "", http.StatusNotFound},
	} {
		t.Run(tc.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			a.e.ServeHTTP(rec, httptest.NewRequest("GET", tc.path, nil))
			h := rec.Header()
			if rec.Code != tc.code {
				t.Fatalf("status %d, want %d", rec.Code, tc.code)
			}
			if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options %q, want nosniff", got)
			}
			if got := h.Get("Content-Security-Policy"); got != tc.csp {
				t.Errorf("Content-Security-Policy %q, want %q", got, tc.csp)
			}
			if got := h.Get("Cache-Control"); got != tc.cache {
				t.Errorf("Cache-Control %q, want %q", got, tc.cache)
			}
		})
	}
}

// TestAuthRejectsForeignAlgorithms extends TestAuthTokens with algorithm
// confusion: tokens whose header names another algorithm, whatever key
// signed them, and "none" in any spelling.
func TestAuthRejectsForeignAlgorithms(t *testing.T) {
	a := newAPI(t)
	uid := uuid.NewString()
	claims := jwt.MapClaims{"user_id": uid, "exp": time.Now().Add(time.Hour).Unix()}
	// hmacWith signs header.claims with HMAC-SHA256 and testSecret, whatever
	// alg the header claims: a server that trusted the header's alg and fed
	// it the HMAC secret as key would accept these.
	hmacKey := func(key []byte, header map[string]any) string {
		in := tokenSegment(t, header) + "." + tokenSegment(t, claims)
		m := hmac.New(sha256.New, key)
		m.Write([]byte(in))
		return in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	}
	hmacWith := func(header map[string]any) string { return hmacKey(testSecret, header) }
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(m jwt.SigningMethod, key any) string {
		tok, err := jwt.NewWithClaims(m, claims).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	good := sign(jwt.SigningMethodHS256, testSecret)
	goodParts := strings.Split(good, ".")
	cases := map[string]string{
		"RS256 header, HMAC secret as key":   hmacWith(map[string]any{"alg": "RS256", "typ": "JWT"}),
		"ES256 header, HMAC secret as key":   hmacWith(map[string]any{"alg": "ES256", "typ": "JWT"}),
		"HS256 lower-case alg":               hmacWith(map[string]any{"alg": "hs256", "typ": "JWT"}),
		"no alg":                             hmacWith(map[string]any{"typ": "JWT"}),
		"RS256 with an RSA key":              sign(jwt.SigningMethodRS256, rsaKey),
		"PS256 with an RSA key":              sign(jwt.SigningMethodPS256, rsaKey),
		"ES256 with an EC key":               sign(jwt.SigningMethodES256, ecKey),
		"HS256 with an empty-looking key":    sign(jwt.SigningMethodHS256, []byte{0}),
		"alg None":                           tokenSegment(t, map[string]any{"alg": "None"}) + "." + tokenSegment(t, claims) + ".",
		"alg NONE":                           tokenSegment(t, map[string]any{"alg": "NONE"}) + "." + tokenSegment(t, claims) + ".",
		"alg none with the HS256 signature":  tokenSegment(t, map[string]any{"alg": "none"}) + "." + goodParts[1] + "." + goodParts[2],
		"alg none, unsafe key marker":        tokenSegment(t, map[string]any{"alg": "none"}) + "." + tokenSegment(t, claims) + "." + base64.RawURLEncoding.EncodeToString([]byte(jwt.UnsafeAllowNoneSignatureType)),
		"HS256 signed with its embedded jwk": hmacKey([]byte{0}, map[string]any{"alg": "HS256", "jwk": map[string]any{"kty": "oct", "k": "AA"}}),
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			r := a.do(req{Method: "GET", Path: "/api/v2/contacts", Token: tok})
			wantErrorDoc(t, r, http.StatusUnauthorized, "")
		})
	}
	// The control: the same claims, HS256 with the secret, are accepted.
	a.do(req{Method: "GET", Path: "/api/v2/contacts", Token: good}).want(t, http.StatusOK, "")
}

// TestHeaderLimit: header fields of exactly MaxHeaderBytes (name + value +
// 4 bytes each, Host included) are served; one byte more is a JSON:API 431
// naming the largest field, on any operation, before authentication.
func TestHeaderLimit(t *testing.T) {
	a := newAPI(t)
	tok := a.user()
	// What the harness sends besides the padding: Host (httptest's
	// example.com), Accept and Authorization.
	fixed := len("Host") + len("example.com") + 4 +
		len("Accept") + len(mediaType) + 4 +
		len("Authorization") + len("Bearer "+tok) + 4
	pad := MaxHeaderBytes - fixed - (len("X-Pad") + 4)
	for _, tc := range []struct {
		name   string
		token  string
		padLen int
		want   int
	}{
		{"exactly the limit", tok, pad, http.StatusOK},
		{"one byte over", tok, pad + 1, http.StatusRequestHeaderFieldsTooLarge},
		{"far over", tok, 4 * MaxHeaderBytes, http.StatusRequestHeaderFieldsTooLarge},
		// No token, the rest as large: 431 before 401 (Authorization
		// was part of the count above).
		{"over, without a token", "", pad + len("Authorization") + len("Bearer "+tok) + 4 + 1, http.StatusRequestHeaderFieldsTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := a.do(req{Method: "GET", Path: "/api/v2/contacts", Token: tc.token,
				Header: map[string]string{"X-Pad": strings.Repeat("a", tc.padLen)}})
			if tc.want == http.StatusOK {
				r.want(t, http.StatusOK, "")
				return
			}
			if r.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", r.Code, tc.want, r.Raw)
			}
			wantErrorDoc(t, r, tc.want, "")
			e := r.Doc["errors"].([]any)[0].(map[string]any)
			if src, _ := e["source"].(map[string]any); src["header"] != "X-Pad" {
				t.Errorf("source %v, want header X-Pad", e["source"])
			}
		})
	}
	// Many small fields count as much as one large one.
	h := map[string]string{}
	for i := 0; len(h)*(len("X-Pad-00000")+100+4) <= MaxHeaderBytes; i++ {
		h[fmt.Sprintf("X-Pad-%05d", i)] = strings.Repeat("b", 100)
	}
	wantErrorDoc(t, a.do(req{Method: "GET", Path: "/api/v2/contacts", Token: tok, Header: h}), http.StatusRequestHeaderFieldsTooLarge, "")
}
