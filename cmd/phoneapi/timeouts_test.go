package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTimeoutFlags(t *testing.T) {
	parseTimeouts := func(t *testing.T, vars map[string]string, args ...string) (*serverTimeouts, error) {
		t.Helper()
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		to := addTimeoutFlags(fs, env(vars))
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		return to, to.check(fs)
	}
	to, err := parseTimeouts(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	var srv http.Server
	to.apply(&srv)
	if srv.ReadHeaderTimeout != 10*time.Second || srv.ReadTimeout != 30*time.Second ||
		srv.WriteTimeout != 30*time.Second || srv.IdleTimeout != 120*time.Second || to.grace != 15*time.Second {
		t.Errorf("defaults: %v %v %v %v grace %v; want 10s, 30s, 30s, 120s, 15s", srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout, to.grace)
	}

	to, err = parseTimeouts(t, map[string]string{
		"PHONEAPI_READ_HEADER_TIMEOUT": "1s", "PHONEAPI_READ_TIMEOUT": "2s", "PHONEAPI_WRITE_TIMEOUT": "3s",
		"PHONEAPI_IDLE_TIMEOUT": "4s", "PHONEAPI_SHUTDOWN_GRACE": "5s",
	}, "--write-timeout", "33s", "--shutdown-grace", "1m")
	if err != nil {
		t.Fatal(err)
	}
	to.apply(&srv)
	if srv.ReadHeaderTimeout != time.Second || srv.ReadTimeout != 2*time.Second ||
		srv.WriteTimeout != 33*time.Second || srv.IdleTimeout != 4*time.Second || to.grace != time.Minute {
		t.Errorf("env and flags: %v %v %v %v grace %v; want 1s 2s 33s 4s, grace 1m",
			srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout, to.grace)
	}

	// A bad variable is an error unless its flag overrides it.
	if _, err := parseTimeouts(t, map[string]string{"PHONEAPI_IDLE_TIMEOUT": "forever"}, "--idle-timeout", "9s"); err != nil {
		t.Errorf("overridden bad variable: %v", err)
	}
	for _, tc := range []struct {
		name string
		vars map[string]string
		args []string
		want string
	}{
		{"bad env", map[string]string{"PHONEAPI_READ_TIMEOUT": "soon"}, nil, "PHONEAPI_READ_TIMEOUT"},
		{"zero env", map[string]string{"PHONEAPI_SHUTDOWN_GRACE": "0s"}, nil, "PHONEAPI_SHUTDOWN_GRACE"},
		{"negative flag", nil, []string{"--read-header-timeout", "-1s"}, "read-header-timeout"},
		{"bad flag", nil, []string{"--write-timeout", "10"}, "write-timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			args := append([]string{"serve", "--db", filepath.Join(t.TempDir(), "x.db")}, tc.args...)
			err := run(context.Background(), args, env(tc.vars), io.Discard, &stderr)
			if code := exitCode(err, &stderr); code != 2 {
				t.Errorf("exit code %d, want 2 (stderr %q)", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tc.want)
			}
		})
	}
}

// TestServeOperations runs serve and checks, over real HTTP, the
// operational endpoints, the request id, the access log on stderr, and
// that the read-header timeout set by flag cuts a slow client.
func TestServeOperations(t *testing.T) {
	getenv := env(map[string]string{"PHONEAPI_DB": filepath.Join(t.TempDir(), "ops.db"), "PHONEAPI_JWT_SECRET": "s"})
	srv := startServe(t, getenv, "--read-header-timeout", "300ms", "--shutdown-grace", "2s")
	addr := srv.URL

	for _, tc := range []struct {
		path string
		want int
		body string
	}{
		{"/healthz", 200, `"status":"ok"`},
		{"/readyz", 200, `"database":"ok"`},
		{"/metrics", 200, "phoneapi_build_info{"},
	} {
		r, _ := http.NewRequest("GET", addr+tc.path, nil)
		r.Header.Set("X-Request-ID", "ops-"+strings.TrimPrefix(tc.path, "/"))
		res, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tc.want || !strings.Contains(string(body), tc.body) {
			t.Errorf("GET %s: %d %.200s; want %d with %s", tc.path, res.StatusCode, body, tc.want, tc.body)
		}
		if got := res.Header.Get("X-Request-ID"); got != "ops-"+strings.TrimPrefix(tc.path, "/") {
			t.Errorf("GET %s: X-Request-ID %q", tc.path, got)
		}
	}

	// A client that never finishes its headers is cut after 300ms.
	conn, err := net.Dial("tcp", strings.TrimPrefix(addr, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := conn.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n")); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	io.Copy(io.Discard, conn) // returns when the server closes the connection
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("slow client cut after %v, want about 300ms", el)
	}

	srv.stop(t)
	lines := srv.log()
	found := false
	for _, l := range lines {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "request" && m["request_id"] == "ops-readyz" {
			found = m["route"] == "/readyz" && m["status"] == float64(200)
		}
	}
	if !found {
		t.Errorf("no access-log line for GET /readyz on stderr:\n%s", strings.Join(lines, "\n"))
	}
}
