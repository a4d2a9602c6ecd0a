package handlers

import (
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"
	"go.yaml.in/yaml/v3"

	"github.com/phoneapi/phoneapi/generated"
)

// The served contract and its reference page. None of these routes needs a
// token or the JSON:API media type: they are for people and tools that read
// the contract, not for API clients.
//
//	GET /openapi.json  the embedded spec as JSON
//	GET /openapi.yaml  the embedded spec as YAML
//	GET /docs          the API reference, rendered in the browser by the
//	                   embedded Redoc bundle from /openapi.json
//	GET /              redirects to /docs
//
// Both spec documents are openapi.yaml as embedded, servers included: its one
// server URL is relative ("/"), so tools resolve it against the address they
// fetched the spec from, and clients generated from a downloaded spec embed
// no host.

// redocVersion is the npm version of docs/redoc.standalone.js (see
// docs/README.md). It is part of the bundle's URL, which can then be cached
// for good.
const redocVersion = "2.5.4"

// redocLogoURL is the one URL on another host that the Redoc bundle loads: the
// Redocly logo in the side menu's attribution link. It is replaced with
// redocLogoLocal, an image that fails without a request, after which Redoc
// hides it.
const (
	redocLogoURL   = "https://cdn.redoc.ly/redoc/logo-mini.svg"
	redocLogoLocal = "data:,"
)

// docsCSP is the Content-Security-Policy of /docs: everything from this server
// only. Redoc's styled-components inject <style> elements, its search runs in
// a Worker made from a blob: URL, and the patched logo is a data: URL.
const docsCSP = "default-src 'none'; script-src 'self'; connect-src 'self'; " +
	"style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; " +
	"worker-src blob:; child-src blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

//go:embed docs/index.html docs/redoc.standalone.js
var docsFS embed.FS

// docs holds everything the docs routes serve, prepared once by newDocs.
type docs struct {
	json []byte // the spec as JSON, top-level members in topLevelOrder
	yaml []byte // the same as YAML

	page       []byte // the rendered index.html
	script     []byte // the patched Redoc bundle
	scriptGzip []byte
	scriptPath string
}

// topLevelOrder is the conventional order of an OpenAPI document's members;
// members not listed keep their order after these.
var topLevelOrder = []string{"openapi", "info", "jsonSchemaDialect", "servers", "security", "tags", "externalDocs", "paths", "webhooks", "components"}

// loadDocs prepares the docs once per process: they depend only on what is
// embedded, and the YAML encoding and gzip take a tenth of a second.
var loadDocs = sync.OnceValues(newDocs)

// registerDocs adds the contract and docs routes to e.
func registerDocs(e *echo.Echo) error {
	d, err := loadDocs()
	if err != nil {
		return fmt.Errorf("handlers: docs: %w", err)
	}
	both := []string{http.MethodGet, http.MethodHead}
	e.Match(both, "/openapi.json", d.specJSON)
	e.Match(both, "/openapi.yaml", d.specYAML)
	e.Match(both, "/docs", d.pageHandler)
	e.Match(both, "/docs/", redirectTo("/docs"))
	e.Match(both, d.scriptPath, d.scriptHandler)
	e.Match(both, "/", redirectTo("/docs"))
	return nil
}

func newDocs() (*docs, error) {
	raw, err := generated.GetSpecJSON()
	if err != nil {
		return nil, err
	}
	d := &docs{}

	// Reorder the spec's top-level members to topLevelOrder.
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil {
		return nil, fmt.Errorf("decode embedded spec: %w", err)
	}
	var node yaml.Node // YAML is a superset of JSON: this keeps the member order
	if err := yaml.Unmarshal(raw, &node); err != nil || node.Kind != yaml.DocumentNode || node.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("decode embedded spec as YAML: %v", err)
	}
	values := map[string]*yaml.Node{}
	var rest []string
	m := node.Content[0].Content
	for i := 0; i+1 < len(m); i += 2 {
		values[m[i].Value] = m[i+1]
		if !slices.Contains(topLevelOrder, m[i].Value) {
			rest = append(rest, m[i].Value)
		}
	}
	var js, ys bytes.Buffer
	js.WriteString("{\n")
	for _, k := range append(append([]string{}, topLevelOrder...), rest...) {
		v, ok := members[k]
		if !ok {
			continue
		}
		if js.Len() > 2 {
			js.WriteString(",\n")
		}
		js.Write(jsonMember(k))
		if err := json.Indent(&js, v, "  ", "  "); err != nil {
			return nil, err
		}
		y, err := yamlMember(k, plainStyle(values[k]))
		if err != nil {
			return nil, err
		}
		ys.Write(y)
	}
	js.WriteString("\n}\n")
	d.json, d.yaml = js.Bytes(), ys.Bytes()

	// The Redoc bundle, without its one request to another host.
	script, err := docsFS.ReadFile("docs/redoc.standalone.js")
	if err != nil {
		return nil, err
	}
	if n := bytes.Count(script, []byte(redocLogoURL)); n != 1 {
		return nil, fmt.Errorf("redoc bundle: want %s once, found it %d times: check docs/README.md", redocLogoURL, n)
	}
	d.script = bytes.Replace(script, []byte(redocLogoURL), []byte(redocLogoLocal), 1)
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if _, err := zw.Write(d.script); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	d.scriptGzip = gz.Bytes()
	d.scriptPath = "/docs/redoc-" + redocVersion + ".standalone.js"

	// The page, titled after the spec.
	var info struct {
		Title string `json:"title"`
	}
	if err := json.Unmarshal(members["info"], &info); err != nil {
		return nil, fmt.Errorf("spec info: %w", err)
	}
	tmpl, err := template.ParseFS(docsFS, "docs/index.html")
	if err != nil {
		return nil, err
	}
	var page bytes.Buffer
	if err := tmpl.Execute(&page, map[string]string{"Title": info.Title, "Script": d.scriptPath}); err != nil {
		return nil, err
	}
	d.page = page.Bytes()
	return d, nil
}

func (d *docs) specJSON(c echo.Context) error {
	specHeaders(c)
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, d.json)
}

func (d *docs) specYAML(c echo.Context) error {
	specHeaders(c)
	return c.Blob(http.StatusOK, "application/yaml", d.yaml)
}

// specHeaders are the headers of both spec documents: anyone may read them,
// from any origin (doc sites and contract tools fetch them).
func specHeaders(c echo.Context) {
	h := c.Response().Header()
	h.Set("Cache-Control", "no-cache")
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("X-Content-Type-Options", "nosniff")
}

func (d *docs) pageHandler(c echo.Context) error {
	h := c.Response().Header()
	h.Set("Content-Security-Policy", docsCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
	return c.Blob(http.StatusOK, echo.MIMETextHTMLCharsetUTF8, d.page)
}

func (d *docs) scriptHandler(c echo.Context) error {
	h := c.Response().Header()
	h.Set("Cache-Control", "public, max-age=31536000, immutable") // the path names the version
	h.Set("X-Content-Type-Options", "nosniff")
	h.Add("Vary", "Accept-Encoding")
	const ct = "text/javascript; charset=utf-8"
	if acceptsGzip(c.Request().Header.Values("Accept-Encoding")) {
		h.Set("Content-Encoding", "gzip")
		return c.Blob(http.StatusOK, ct, d.scriptGzip)
	}
	return c.Blob(http.StatusOK, ct, d.script)
}

func redirectTo(to string) echo.HandlerFunc {
	return func(c echo.Context) error { return c.Redirect(http.StatusFound, to) }
}

// acceptsGzip reports whether Accept-Encoding lists gzip (or *) without q=0.
func acceptsGzip(values []string) bool {
	for _, v := range values {
		for _, item := range strings.Split(v, ",") {
			name, params, _ := strings.Cut(item, ";")
			name = strings.ToLower(strings.TrimSpace(name))
			if name != "gzip" && name != "*" {
				continue
			}
			q := strings.ReplaceAll(strings.ToLower(params), " ", "")
			if q == "q=0" || strings.HasPrefix(q, "q=0.") && strings.Trim(q[4:], "0") == "" {
				continue
			}
			return true
		}
	}
	return false
}

// jsonMember returns `  "key": ` for a top-level member.
func jsonMember(k string) []byte {
	name, _ := json.Marshal(k)
	return append(append([]byte("  "), name...), ": "...)
}

// yamlMember encodes the one-member mapping {k: v} as a YAML block.
func yamlMember(k string, v any) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(map[string]any{k: v}); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// plainStyle clears the quoting that parsing JSON left on n's scalars, so the
// YAML encoder quotes only what needs it and writes multi-line text as
// literal blocks. Tags are kept: a string that reads as a number stays quoted.
func plainStyle(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	n.Style = 0
	for _, c := range n.Content {
		plainStyle(c)
	}
	return n
}
