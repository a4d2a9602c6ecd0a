package handlers

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"go.yaml.in/yaml/v3"

	"github.com/phoneapi/phoneapi/generated"
)

// getOK sends a GET through get and wants 200 with Content-Type ct.
func (a *api) getOK(t testing.TB, target string, header map[string]string, ct string, remote ...string) *httptest.ResponseRecorder {
	t.Helper()
	w := a.get(http.MethodGet, target, header, remote...)
	if w.Code != http.StatusOK {
		t.Fatalf("GET %s: status %d: %s", target, w.Code, w.Body)
	}
	if got := w.Header().Get("Content-Type"); got != ct {
		t.Errorf("GET %s: Content-Type = %q, want %q", target, got, ct)
	}
	return w
}

// redocSHA256 is the sha256 of docs/redoc.standalone.js as npm ships it in
// redoc@2.5.4 (see docs/README.md): the committed bundle is unmodified.
const redocSHA256 = "dcaf76612bc4a3fbcc923a8966dee2f6146a5f32e5ce1b6f02dd60cbbf89500b"

// embeddedSpec is the spec generated/ embeds, decoded.
func embeddedSpec(t *testing.T) map[string]any {
	t.Helper()
	raw, err := generated.GetSpecJSON()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// relativeServers checks that doc lists exactly one server, whose URL is
// "/": whatever the address the spec was served on, generated clients
// embed no host.
func relativeServers(t *testing.T, doc map[string]any) {
	t.Helper()
	list, ok := doc["servers"].([]any)
	if !ok || len(list) != 1 {
		t.Fatalf("servers = %#v, want one entry", doc["servers"])
	}
	if got := list[0].(map[string]any)["url"]; got != "/" {
		t.Errorf("servers[0].url = %v, want /", got)
	}
}

func TestDocsSpecJSON(t *testing.T) {
	a := newAPI(t)
	for _, tc := range []struct {
		name, target string
		header       map[string]string
		remote       string
	}{
		// The servers entry stays relative whatever the address, scheme or
		// forwarding headers.
		{"host and port", "http://api.example.test:8443/openapi.json", nil, ""},
		{"loopback", "http://127.0.0.1:18080/openapi.json", nil, "127.0.0.1:50000"},
		{"behind a local TLS proxy", "http://phones.example.test/openapi.json",
			map[string]string{"X-Forwarded-Proto": "https"}, "127.0.0.1:50000"},
		{"forwarding header from a public peer", "http://phones.example.test/openapi.json",
			map[string]string{"X-Forwarded-Proto": "https"}, "203.0.113.9:50000"},
		// Neither a token nor the JSON:API media type is needed; a bad token
		// and a foreign Accept are ignored.
		{"ignores auth and Accept", "http://localhost:8080/openapi.json",
			map[string]string{"Authorization": "Bearer not-a-token", "Accept": "text/html"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var remote []string
			if tc.remote != "" {
				remote = []string{tc.remote}
			}
			w := a.getOK(t, tc.target, tc.header, "application/json", remote...)
			if got := w.Header().Get("Access-Control-Allow-Origin"); got != "*" {
				t.Errorf("Access-Control-Allow-Origin = %q", got)
			}
			var doc map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
				t.Fatalf("not JSON: %v", err)
			}
			relativeServers(t, doc)
			if !reflect.DeepEqual(doc, embeddedSpec(t)) {
				t.Error("served spec differs from the embedded one")
			}
		})
	}
}

func TestDocsSpecJSONOrder(t *testing.T) {
	a := newAPI(t)
	w := a.get(http.MethodGet, "http://localhost/openapi.json", nil)
	dec := json.NewDecoder(w.Body)
	var order []string
	if _, err := dec.Token(); err != nil { // {
		t.Fatal(err)
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		order = append(order, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	if len(order) < 3 || order[0] != "openapi" || order[1] != "info" || order[2] != "servers" {
		t.Errorf("top-level order = %v, want openapi, info, servers first", order)
	}
}

func TestDocsSpecYAML(t *testing.T) {
	a := newAPI(t)
	w := a.getOK(t, "http://api.example.test:8443/openapi.yaml", map[string]string{"Accept": "application/vnd.api+json"}, "application/yaml")
	body := w.Body.Bytes()
	if !bytes.HasPrefix(body, []byte("openapi: ")) {
		t.Errorf("YAML does not start with the openapi version: %.40q", body)
	}
	if !bytes.Contains(body, []byte("\n  description: |")) {
		t.Error("multi-line descriptions are not literal blocks")
	}

	// Same document as the embedded JSON, once decoded.
	var y any
	if err := yaml.Unmarshal(body, &y); err != nil {
		t.Fatalf("not YAML: %v", err)
	}
	j, err := json.Marshal(y)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(j, &doc); err != nil {
		t.Fatal(err)
	}
	relativeServers(t, doc)
	if !reflect.DeepEqual(doc, embeddedSpec(t)) {
		t.Error("served YAML differs from the embedded spec")
	}

	// And a valid OpenAPI document for a tool that reads YAML.
	spec, err := openapi3.NewLoader().LoadFromData(body)
	if err != nil {
		t.Fatalf("load served YAML: %v", err)
	}
	if err := spec.Validate(context.Background()); err != nil {
		t.Errorf("served YAML is not a valid OpenAPI document: %v", err)
	}
	if op := spec.Paths.Find("/api/v2/contacts/{contact_id}/people/{person_id}/phones/{id}"); op == nil || op.Put == nil || op.Put.Summary != "Update a phone" {
		t.Error("served YAML lacks putPhone")
	}
}

func TestDocsPage(t *testing.T) {
	a := newAPI(t)
	w := a.getOK(t, "http://localhost:8080/docs", map[string]string{"Accept": "text/html"}, "text/html; charset=UTF-8")
	csp := w.Header().Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self'", "img-src 'self' data:", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "http") || strings.Contains(csp, "*") {
		t.Errorf("Content-Security-Policy allows other hosts: %q", csp)
	}
	page := w.Body.String()
	script := "/docs/redoc-" + redocVersion + ".standalone.js"
	for _, want := range []string{`<redoc spec-url="/openapi.json"`, `<script src="` + script + `">`, "<title>phoneapi"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, "://") {
		t.Errorf("page names another host:\n%s", page)
	}

	// The bundle: served without its one external URL, plain and gzipped.
	w = a.getOK(t, "http://localhost:8080"+script, nil, "text/javascript; charset=utf-8")
	if cc := w.Header().Get("Cache-Control"); !strings.Contains(cc, "immutable") {
		t.Errorf("bundle Cache-Control = %q", cc)
	}
	plain := w.Body.Bytes()
	if len(plain) < 500_000 || bytes.Contains(plain, []byte("cdn.redoc.ly")) || !bytes.Contains(plain, []byte(`"`+redocLogoLocal+`"`)) {
		t.Errorf("bundle (%d bytes) is not the patched Redoc bundle", len(plain))
	}
	w = a.get(http.MethodGet, "http://localhost:8080"+script, map[string]string{"Accept-Encoding": "gzip, deflate, br"})
	if w.Header().Get("Content-Encoding") != "gzip" || w.Header().Get("Vary") != "Accept-Encoding" {
		t.Fatalf("gzip: Content-Encoding %q, Vary %q", w.Header().Get("Content-Encoding"), w.Header().Get("Vary"))
	}
	zr, err := gzip.NewReader(w.Body)
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(unzipped, plain) {
		t.Errorf("gzipped bundle differs from the plain one (err %v)", err)
	}
}

// TestDocsBundle pins the committed bundle to the npm release it came from.
func TestDocsBundle(t *testing.T) {
	b, err := docsFS.ReadFile("docs/redoc.standalone.js")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != redocSHA256 {
		t.Errorf("docs/redoc.standalone.js sha256 = %s, want %s (redoc@%s as published)", got, redocSHA256, redocVersion)
	}
	if !bytes.Contains(b, []byte(`="`+redocVersion+`"`)) {
		t.Errorf("the bundle is not Redoc %s", redocVersion)
	}
}

func TestDocsRedirects(t *testing.T) {
	a := newAPI(t)
	for _, path := range []string{"/", "/docs/"} {
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			w := a.get(method, "http://localhost:8080"+path, nil)
			if w.Code != http.StatusFound || w.Header().Get("Location") != "/docs" {
				t.Errorf("%s %s: %d, Location %q; want 302 to /docs", method, path, w.Code, w.Header().Get("Location"))
			}
		}
	}
}

func TestDocsHead(t *testing.T) {
	a := newAPI(t)
	for _, path := range []string{"/openapi.json", "/openapi.yaml", "/docs"} {
		if w := a.get(http.MethodHead, "http://localhost:8080"+path, nil); w.Code != http.StatusOK {
			t.Errorf("HEAD %s: %d", path, w.Code)
		}
	}
	// Other methods are not allowed; the error is a JSON:API document as everywhere.
	w := a.get(http.MethodPost, "http://localhost:8080/openapi.json", nil)
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Content-Type") != mediaType {
		t.Errorf("POST /openapi.json: %d %q", w.Code, w.Header().Get("Content-Type"))
	}
}

func TestAcceptsGzip(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want bool
	}{
		{nil, false},
		{[]string{"gzip"}, true},
		{[]string{"deflate, GZIP;q=0.5"}, true},
		{[]string{"br", "gzip"}, true},
		{[]string{"*"}, true},
		{[]string{"gzip;q=0"}, false},
		{[]string{"gzip; q=0.000"}, false},
		{[]string{"identity"}, false},
		{[]string{"x-gzip"}, false},
	} {
		if got := acceptsGzip(tc.in); got != tc.want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
