package main

// What a client gets for requests that phoneapi or Go's HTTP server refuse
// before any operation runs (README, "Operations").

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/phoneapi/phoneapi/handlers"
)

// rawRequest writes raw on a new connection to the server at base (an
// http:// URL) and returns the response read from it and its body. The
// request is written while the response is read: Go's server may answer
// and close before reading all of a large request.
func rawRequest(t *testing.T, base, raw string) (*http.Response, []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	go io.WriteString(conn, raw) // fails once the server has closed: ignored
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%.60q: no response: %v", raw, err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil && len(body) == 0 {
		t.Fatalf("%.60q: reading the body: %v", raw, err)
	}
	return res, body
}

// TestServeHeaderLimits: header fields just over handlers.MaxHeaderBytes
// get phoneapi's JSON:API 431 (with its X-Request-ID), on any path; over
// handlers.HTTPMaxHeaderBytes Go's server answers its own plain-text 431,
// as the README documents.
func TestServeHeaderLimits(t *testing.T) {
	srv := startServe(t, serveEnv(t, nil))
	request := func(path string, pad int) string {
		return "GET " + path + " HTTP/1.1\r\nHost: phoneapi.test\r\nX-Request-ID: big-headers\r\nX-Pad: " +
			strings.Repeat("a", pad) + "\r\n\r\n"
	}
	// Just under the limit: served (401, no token).
	res, body := rawRequest(t, srv.URL, request("/api/v2/contacts", handlers.MaxHeaderBytes-200))
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("under the limit: status %d, want 401: %s", res.StatusCode, body)
	}
	for _, path := range []string{"/api/v2/contacts", "/healthz", "/no/such/path"} {
		res, body := rawRequest(t, srv.URL, request(path, handlers.MaxHeaderBytes+1))
		if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("%s just over the limit: status %d, want 431: %.300s", path, res.StatusCode, body)
			continue
		}
		e := wantJSONAPIError(t, res, body, "431")
		if src, _ := e["source"].(map[string]any); src["header"] != "X-Pad" {
			t.Errorf("%s: source %v, want header X-Pad", path, e["source"])
		}
		if got := res.Header.Get("X-Request-ID"); got != "big-headers" {
			t.Errorf("%s: X-Request-ID %q", path, got)
		}
	}
	// Over Go's limit: Go's own answer, which phoneapi cannot change.
	res, body = rawRequest(t, srv.URL, request("/api/v2/contacts", handlers.HTTPMaxHeaderBytes+8<<10))
	if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge ||
		res.Header.Get("Content-Type") != "text/plain; charset=utf-8" ||
		string(body) != "431 Request Header Fields Too Large" {
		t.Errorf("over Go's limit: %d %q %q; want Go's plain-text 431", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
}

// TestServeProtocolRejections pins what a client gets for requests that
// Go's HTTP server refuses itself (the README's table under "Operations"),
// and that "OPTIONS *" reaches phoneapi (a JSON:API 404) instead of Go's
// empty 200, as does HTTP/2's cleartext preface.
func TestServeProtocolRejections(t *testing.T) {
	srv := startServe(t, serveEnv(t, nil))
	const plain = "text/plain; charset=utf-8"
	for _, tc := range []struct {
		name   string
		raw    string
		status int
		ct     string // Content-Type
		body   string // exact body; for JSON:API, the error's status
	}{
		{"OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 404, "application/vnd.api+json", "404"},
		{"NUL in a header value", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", 400, plain, "400 Bad Request"},
		{"CR in a header value", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n", 400, plain, "400 Bad Request"},
		{"header line without a colon", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A\r\n\r\n", 400, plain, "400 Bad Request"},
		{"malformed request line", "GARBAGE\r\n\r\n", 400, plain, "400 Bad Request"},
		{"malformed HTTP version", "GET /healthz HTTP/x\r\nHost: x\r\n\r\n", 400, plain, "400 Bad Request"},
		{"two Host headers", "GET /healthz HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400, plain, "400 Bad Request"},
		{"bad Content-Length", "POST /api/v2/contacts HTTP/1.1\r\nHost: x\r\nContent-Length: lots\r\n\r\n", 400, plain, "400 Bad Request"},
		{"request target not a path", "GET healthz HTTP/1.1\r\nHost: x\r\n\r\n", 400, plain, "400 Bad Request"},
		{"malformed Host", "GET /healthz HTTP/1.1\r\nHost: a b\r\n\r\n", 400, plain, "400 Bad Request: malformed Host header"},
		{"HTTP/2.0 without TLS", "GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n", 505, plain, "505 HTTP Version Not Supported: unsupported protocol version"},
		{"PRI *, the HTTP/2 preface (h2c is not served)", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 404, "application/vnd.api+json", "404"},
		{"no Host on HTTP/1.1", "GET /healthz HTTP/1.1\r\n\r\n", 400, plain, "400 Bad Request: missing required Host header"},
		{"HTTP/3.0", "GET /healthz HTTP/3.0\r\nHost: x\r\n\r\n", 505, plain, "505 HTTP Version Not Supported: unsupported protocol version"},
		{"unknown Transfer-Encoding", "POST /api/v2/contacts HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501, plain, "Unsupported transfer encoding"},
		{"Expect other than 100-continue", "GET /healthz HTTP/1.1\r\nHost: x\r\nExpect: later\r\n\r\n", 417, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, body := rawRequest(t, srv.URL, tc.raw)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %q", res.StatusCode, tc.status, body)
			}
			if tc.ct == "application/vnd.api+json" {
				wantJSONAPIError(t, res, body, tc.body)
				return
			}
			if ct := res.Header.Get("Content-Type"); ct != tc.ct {
				t.Errorf("Content-Type %q, want %q", ct, tc.ct)
			}
			if string(body) != tc.body {
				t.Errorf("body %q, want %q", body, tc.body)
			}
			if !res.Close {
				t.Error("the connection stays open, want it closed")
			}
		})
	}
}
