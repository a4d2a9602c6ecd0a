package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// runCLI runs args through run and exitCode, returning the exit code and
// what went to stdout and stderr. A serve that starts is stopped after 3 s.
func runCLI(t *testing.T, getenv func(string) string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	err := run(ctx, args, getenv, &out, &errOut)
	code = exitCode(err, &errOut)
	return code, out.String(), errOut.String()
}

func TestHelpOnStdout(t *testing.T) {
	for _, cmd := range []string{"serve", "token", "migrate", "seed", "export", "import"} {
		for _, args := range [][]string{{cmd, "-h"}, {cmd, "--help"}, {"help", cmd}} {
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				code, out, errOut := runCLI(t, env(nil), args...)
				if code != 0 || errOut != "" {
					t.Fatalf("exit %d, stderr %q; want 0 and nothing", code, errOut)
				}
				for _, want := range []string{"Usage: phoneapi " + cmd + " ", "--db DB", "(env PHONEAPI_DB)"} {
					if !strings.Contains(out, want) {
						t.Errorf("stdout lacks %q:\n%s", want, out)
					}
				}
				if strings.Contains(out, "\n  -db") || strings.Contains(out, " value\n") {
					t.Errorf("help uses -flag spelling or a bare value placeholder:\n%s", out)
				}
			})
		}
	}
	code, out, _ := runCLI(t, env(nil), "serve", "--help")
	for _, want := range []string{"--addr ADDR", "--request-timeout DURATION", "(env PHONEAPI_REQUEST_TIMEOUT", "--log-level debug|info|warn|error", "--log-format json|text"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("serve --help: exit %d, lacks %q", code, want)
		}
	}
}

func TestTokenHelpHasOnlyTokenFlags(t *testing.T) {
	_, out, _ := runCLI(t, env(nil), "token", "--help")
	for _, flag := range []string{"--pg-max-conns", "--pg-connect-timeout", "--pg-statement-timeout", "--sqlite-synchronous", "--addr", "--log-level"} {
		if strings.Contains(out, flag) {
			t.Errorf("token --help lists %s", flag)
		}
	}
	code, _, errOut := runCLI(t, env(nil), "token", "--pg-max-conns", "3", "--jwt-secret", "s")
	if code != 2 || !strings.Contains(errOut, "not defined: --pg-max-conns") {
		t.Errorf("token --pg-max-conns: exit %d, stderr %q; want 2 and not defined", code, errOut)
	}
}

func TestUsageErrorOnceWithHint(t *testing.T) {
	tests := []struct {
		args     []string
		wantErr  string
		wantHint string
	}{
		{[]string{"serve", "--nope"}, "phoneapi: serve: flag provided but not defined: --nope\n", "run 'phoneapi serve --help' for usage\n"},
		{[]string{"token", "--ttl", "soon"}, `invalid value "soon" for flag --ttl`, "run 'phoneapi token --help' for usage\n"},
		{[]string{"frobnicate"}, `phoneapi: unknown command "frobnicate"` + "\n", "run 'phoneapi --help' for usage\n"},
		{[]string{"help", "frobnicate"}, `unknown command "frobnicate"`, "run 'phoneapi --help' for usage\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := runCLI(t, env(nil), tt.args...)
			if code != 2 || out != "" {
				t.Errorf("exit %d, stdout %q; want 2 and nothing", code, out)
			}
			if strings.Count(errOut, tt.wantErr) != 1 || !strings.HasSuffix(errOut, tt.wantHint) {
				t.Errorf("stderr %q: want %q once, then %q", errOut, tt.wantErr, tt.wantHint)
			}
			if strings.Count(errOut, "\n") != 2 || strings.Contains(errOut, "Usage") {
				t.Errorf("stderr %q: want the error and the hint, two lines, no usage", errOut)
			}
		})
	}
}

func TestVersionFlags(t *testing.T) {
	for _, arg := range []string{"-v", "--version", "version"} {
		code, out, errOut := runCLI(t, env(nil), arg)
		if code != 0 || errOut != "" || out != "phoneapi "+buildVersion()+"\n" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want 0, %q", arg, code, out, errOut, "phoneapi "+buildVersion()+"\n")
		}
	}
}

func TestConfigRefusedBeforeDatabase(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"region env", map[string]string{"PHONEAPI_DEFAULT_REGION": "XX"}, []string{"serve"}, `--default-region / PHONEAPI_DEFAULT_REGION: "XX"`},
		{"region flag", nil, []string{"serve", "--default-region", "ZZ"}, `--default-region / PHONEAPI_DEFAULT_REGION: "ZZ"`},
		{"addr env", map[string]string{"PHONEAPI_ADDR": "notaport"}, []string{"serve"}, `--addr / PHONEAPI_ADDR: "notaport" is not host:port`},
		{"addr port", nil, []string{"serve", "--addr", "127.0.0.1:70000"}, `--addr / PHONEAPI_ADDR: "127.0.0.1:70000"`},
		{"addr name port", nil, []string{"serve", "--addr", ":http"}, `--addr / PHONEAPI_ADDR: ":http"`},
		{"pprof addr", map[string]string{"PHONEAPI_PPROF_ADDR": "localhost"}, []string{"serve"}, `--pprof-addr / PHONEAPI_PPROF_ADDR: "localhost"`},
		{"log level", map[string]string{"PHONEAPI_LOG_LEVEL": "loud"}, []string{"serve"}, `--log-level / PHONEAPI_LOG_LEVEL: "loud"`},
		{"log format", nil, []string{"serve", "--log-format", "xml"}, `--log-format / PHONEAPI_LOG_FORMAT: "xml"`},
		{"duration", map[string]string{"PHONEAPI_READ_TIMEOUT": "long"}, []string{"serve"}, `PHONEAPI_READ_TIMEOUT="long"`},
		{"db scheme", nil, []string{"migrate", "--db", "mysql://x/y"}, `--db / PHONEAPI_DB: "mysql://x/y"`},
		{"seed region irrelevant, bad db url", nil, []string{"seed", "--db", "postgres://%zz"}, `--db / PHONEAPI_DB:`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "api.db")
			vars := map[string]string{"PHONEAPI_DB": path}
			for k, v := range tt.env {
				vars[k] = v
			}
			code, _, errOut := runCLI(t, env(vars), tt.args...)
			if code != 2 || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, errOut, tt.want)
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Errorf("the database file was created (stat: %v)", err)
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for serve's log and the test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serveLog runs serve with args until its database exists and it has had
// a moment to start, stops it, and returns its whole log.
func serveLog(t *testing.T, args ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "api.db")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var log syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0", "--db", path, "--jwt-secret", "s"}, args...), env(nil), &bytes.Buffer{}, &log)
	}()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if strings.Contains(log.String(), "listening") {
			break
		}
		if _, err := os.Stat(path); err == nil && strings.Contains(strings.Join(args, " "), "warn") {
			time.Sleep(500 * time.Millisecond)
			break
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	return log.String()
}

func TestLogFormatAndLevel(t *testing.T) {
	t.Run("text", func(t *testing.T) {
		out := serveLog(t, "--log-format", "text")
		for _, want := range []string{"level=INFO msg=listening", "level=INFO msg=stopped"} {
			if !strings.Contains(out, want) {
				t.Errorf("log lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, "{") {
			t.Errorf("text log has JSON:\n%s", out)
		}
	})
	t.Run("json default", func(t *testing.T) {
		out := serveLog(t)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		for _, l := range lines {
			if !json.Valid([]byte(l)) {
				t.Errorf("not a JSON line: %q", l)
			}
		}
		if !strings.Contains(out, `"msg":"stopped"`) {
			t.Errorf("log lacks stopped:\n%s", out)
		}
	})
	t.Run("warn filters info", func(t *testing.T) {
		if out := serveLog(t, "--log-level", "warn"); out != "" {
			t.Errorf("log at warn has lines: %q", out)
		}
	})
	t.Run("start-up error in the log format", func(t *testing.T) {
		for _, format := range []string{"json", "text"} {
			code, _, errOut := runCLI(t, env(map[string]string{"PHONEAPI_LOG_FORMAT": format}),
				"serve", "--db", filepath.Join(t.TempDir(), "missing", "api.db"))
			want := map[string]string{"json": `"level":"ERROR","msg":"start-up failed"`, "text": `level=ERROR msg="start-up failed"`}[format]
			if code != 1 || !strings.Contains(errOut, want) || strings.Count(errOut, "\n") != 1 {
				t.Errorf("%s: exit %d, stderr %q; want 1 and one line with %q", format, code, errOut, want)
			}
		}
	})
}
