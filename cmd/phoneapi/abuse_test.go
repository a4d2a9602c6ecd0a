package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeCutsSlowHeaders: a client that trickles its request headers (a
// slow-loris) is disconnected once --read-header-timeout has passed, however
// steadily it keeps sending, while prompt clients are served.
func TestServeCutsSlowHeaders(t *testing.T) {
	const timeout = 400 * time.Millisecond
	base := startServe(t, serveEnv(t, nil), "--read-header-timeout", timeout.String()).URL
	host := strings.TrimPrefix(base, "http://")

	// The server's read-header clock starts when it accepts the connection,
	// which can be a moment before Dial returns here: start before dialling,
	// so that "not before the timeout" compares with a time no later than
	// the server's.
	start := time.Now()
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /api/v2/contacts HTTP/1.1\r\nHost: "+host+"\r\n"); err != nil {
		t.Fatal(err)
	}
	closed := make(chan []byte, 1)
	go func() {
		got, _ := io.ReadAll(conn) // until the server closes the connection
		closed <- got
	}()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var got []byte
	sent := 0
trickle:
	for {
		select {
		case got = <-closed:
			break trickle
		case <-tick.C:
			if time.Since(start) > 10*time.Second {
				t.Fatalf("a connection trickling headers for %v is still open (read-header timeout %v)", time.Since(start), timeout)
			}
			// One header line, a byte at a time: never a complete request.
			for _, b := range []byte("X-Slow: a\r\n") {
				if _, err := conn.Write([]byte{b}); err != nil {
					break
				}
			}
			sent++
		}
	}
	elapsed := time.Since(start)
	if elapsed < timeout {
		t.Errorf("closed after %v, before the %v timeout", elapsed, timeout)
	}
	if elapsed > timeout+3*time.Second {
		t.Errorf("closed only after %v (timeout %v)", elapsed, timeout)
	}
	if bytes.Contains(got, []byte(" 200 ")) || bytes.Contains(got, []byte(" 401 ")) {
		t.Errorf("the trickled request was answered as if complete: %q", got)
	}
	t.Logf("slow client cut after %v and %d header lines (timeout %v); it read %q", elapsed.Round(time.Millisecond), sent, timeout, got)

	// A prompt client on the same server is served.
	resp, err := http.Get(base + "/api/v2/contacts")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("prompt request: status %d, want 401 (no token)", resp.StatusCode)
	}
}

// TestServeRateLimitFlags: --rate-limit and --rate-burst reach the server,
// which answers 429 with Retry-After past the burst; bad values of the flags
// or of their variables are usage errors, unless a flag overrides the variable.
func TestServeRateLimitFlags(t *testing.T) {
	srv := startServe(t, serveEnv(t, nil), "--rate-limit", "0.01", "--rate-burst", "2")
	base := srv.URL
	var tok bytes.Buffer
	if err := run(context.Background(), []string{"token"}, srv.getenv, &tok, io.Discard); err != nil {
		t.Fatal(err)
	}
	var codes []int
	var retry string
	for i := 0; i < 3; i++ {
		r, _ := http.NewRequest("GET", base+"/api/v2/contacts", nil)
		r.Header.Set("Authorization", "Bearer "+strings.TrimSpace(tok.String()))
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
		retry = resp.Header.Get("Retry-After")
	}
	if codes[0] != 200 || codes[1] != 200 || codes[2] != 429 {
		t.Errorf("statuses %v, want [200 200 429]", codes)
	}
	if retry != "100" && retry != "99" {
		t.Errorf("Retry-After %q, want about 100 (seconds for one token at 0.01/s)", retry)
	}

	for _, tc := range []struct {
		env  map[string]string
		args []string
	}{
		{nil, []string{"--rate-limit", "-1"}},
		{nil, []string{"--rate-limit", "fast"}},
		{nil, []string{"--rate-burst", "0"}},
		{map[string]string{"PHONEAPI_RATE_LIMIT": "lots"}, nil},
		{map[string]string{"PHONEAPI_RATE_BURST": "-3"}, nil},
	} {
		err := run(context.Background(), append([]string{"serve", "--db", filepath.Join(t.TempDir(), "x.db")}, tc.args...), env(tc.env), io.Discard, io.Discard)
		var ue *usageError
		if !errors.As(err, &ue) {
			t.Errorf("serve %v with %v: %v, want a usage error", tc.args, tc.env, err)
		}
	}
	// A flag overrides a bad variable (startServe fails the test unless
	// serve starts listening).
	startServe(t, serveEnv(t, map[string]string{"PHONEAPI_RATE_LIMIT": "lots"}), "--rate-limit", "5")
}
