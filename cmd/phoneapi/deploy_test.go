package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The systemd unit and its environment file (deploy/) must not rot: every
// flag the unit's ExecStart passes and every variable it or the environment
// file sets is one `phoneapi serve --help` lists, and serve starts with them.

const (
	deployUnit = "../../deploy/phoneapi.service"
	deployEnv  = "../../deploy/phoneapi.env"
)

// unitConfig is what a unit and its environment file give serve.
type unitConfig struct {
	args        []string          // ExecStart's arguments after the binary
	vars        map[string]string // Environment= lines, then the environment file
	timeoutStop string            // TimeoutStopSec=
}

// parseUnit reads unit (a systemd unit's text) and envFile (an
// EnvironmentFile's text). It fails on a unit without exactly one
// ExecStart or on a line of envFile that is not NAME=VALUE.
func parseUnit(unit, envFile string) (unitConfig, error) {
	c := unitConfig{vars: map[string]string{}}
	execs := 0
	for _, line := range strings.Split(unit, "\n") {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, "ExecStart="); ok {
			execs++
			f := strings.Fields(v)
			if len(f) > 0 {
				c.args = f[1:]
			}
		}
		if v, ok := strings.CutPrefix(line, "TimeoutStopSec="); ok {
			c.timeoutStop = v
		}
		if v, ok := strings.CutPrefix(line, "Environment="); ok {
			name, value, _ := strings.Cut(v, "=")
			c.vars[name] = value
		}
	}
	if execs != 1 {
		return c, fmt.Errorf("want one ExecStart=, found %d", execs)
	}
	for i, line := range strings.Split(envFile, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			return c, fmt.Errorf("environment file line %d: %q is not NAME=VALUE", i+1, line)
		}
		c.vars[name] = value
	}
	return c, nil
}

// stopMargin is the time serve may need after its shutdown grace period
// (closing the database, flushing the log) before systemd kills it.
const stopMargin = 5 * time.Second

var (
	helpFlag = regexp.MustCompile(`(?m)^\s*--?([a-z][a-z0-9-]*)`)
	helpVar  = regexp.MustCompile(`PHONEAPI_[A-Z0-9_]+`)
	unitRef  = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)
)

// problems lists what in c serve does not know, given serve's help text:
// a flag not listed as one, a PHONEAPI_ variable not named in it, a
// ${VAR} of ExecStart that nothing sets.
func (c unitConfig) problems(help string) []string {
	flags := map[string]bool{}
	for _, m := range helpFlag.FindAllStringSubmatch(help, -1) {
		flags[m[1]] = true
	}
	vars := map[string]bool{}
	for _, v := range helpVar.FindAllString(help, -1) {
		vars[v] = true
	}
	var out []string
	for _, a := range c.args {
		if name, ok := strings.CutPrefix(a, "-"); ok {
			name = strings.TrimPrefix(name, "-")
			name, _, _ = strings.Cut(name, "=")
			if !flags[name] {
				out = append(out, fmt.Sprintf("ExecStart flag %q is not one of serve's", a))
			}
		}
		for _, m := range unitRef.FindAllStringSubmatch(a, -1) {
			if _, ok := c.vars[m[1]]; !ok {
				out = append(out, fmt.Sprintf("ExecStart uses ${%s}, which neither Environment= nor the environment file sets", m[1]))
			}
		}
	}
	stop, err := time.ParseDuration(c.timeoutStop)
	if err != nil {
		out = append(out, fmt.Sprintf("TimeoutStopSec=%q: want a duration such as 30s", c.timeoutStop))
	}
	grace, err := time.ParseDuration(c.vars["PHONEAPI_SHUTDOWN_GRACE"])
	if err != nil {
		out = append(out, fmt.Sprintf("PHONEAPI_SHUTDOWN_GRACE=%q: want a duration such as 15s", c.vars["PHONEAPI_SHUTDOWN_GRACE"]))
	}
	if stop < grace+stopMargin {
		out = append(out, fmt.Sprintf("TimeoutStopSec=%s leaves serve less than its shutdown grace %s + %s", stop, grace, stopMargin))
	}
	for name := range c.vars {
		if strings.HasPrefix(name, "PHONEAPI_") && !vars[name] {
			out = append(out, fmt.Sprintf("variable %s is not one of serve's", name))
		}
	}
	return out
}

// serveHelp is `phoneapi serve --help`, standard output and error together.
func serveHelp(t *testing.T) string {
	t.Helper()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"serve", "--help"}, env(nil), &out, &out); err != nil {
		t.Fatalf("serve --help: %v", err)
	}
	return out.String()
}

func readDeploy(t *testing.T) (unit, envFile string) {
	t.Helper()
	u, err := os.ReadFile(deployUnit)
	if err != nil {
		t.Fatal(err)
	}
	e, err := os.ReadFile(deployEnv)
	if err != nil {
		t.Fatal(err)
	}
	return string(u), string(e)
}

// TestDeployUnit checks deploy/phoneapi.service and deploy/phoneapi.env
// against serve: every flag and variable is serve's, and serve starts with
// exactly that configuration (the database and address moved into the test).
func TestDeployUnit(t *testing.T) {
	unit, envFile := readDeploy(t)
	c, err := parseUnit(unit, envFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.args) == 0 || c.args[0] != "serve" {
		t.Fatalf("ExecStart arguments %q, want serve first", c.args)
	}
	for _, p := range c.problems(serveHelp(t)) {
		t.Error(p)
	}
	if t.Failed() {
		return
	}

	vars := map[string]string{}
	for k, v := range c.vars {
		vars[k] = v
	}
	vars["PHONEAPI_DB"] = filepath.Join(t.TempDir(), "phoneapi.db")
	vars["PHONEAPI_ADDR"] = "127.0.0.1:0"
	args := make([]string, 0, len(c.args)-1)
	for _, a := range c.args[1:] {
		args = append(args, unitRef.ReplaceAllStringFunc(a, func(ref string) string {
			return vars[unitRef.FindStringSubmatch(ref)[1]]
		}))
	}
	s := startServe(t, env(vars), args...)
	resp, err := http.Get(s.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/readyz: %d, want 200", resp.StatusCode)
	}
	s.stop(t)
}

// TestDeployUnitProblems shows that the check of TestDeployUnit catches a
// flag or variable serve does not have, on edited copies of the real files.
func TestDeployUnitProblems(t *testing.T) {
	unit, envFile := readDeploy(t)
	help := serveHelp(t)
	tests := []struct {
		name          string
		unit, envFile string
		want          string // substring of a problem
	}{
		{"unknown flag", strings.Replace(unit, "serve --db", "serve --frobnicate 1 --db", 1), envFile, `"--frobnicate"`},
		{"flag of another command", strings.Replace(unit, "serve --db", "serve --ttl 1h --db", 1), envFile, `"--ttl"`},
		{"misspelt flag", strings.Replace(unit, "--addr", "--address", 1), envFile, `"--address"`},
		{"unknown variable", unit, envFile + "PHONEAPI_LISTEN=:80\n", "PHONEAPI_LISTEN"},
		{"unknown Environment=", strings.Replace(unit, "[Service]\n", "[Service]\nEnvironment=PHONEAPI_PORT=80\n", 1), envFile, "PHONEAPI_PORT"},
		{"stop timeout below the grace", strings.Replace(unit, "TimeoutStopSec=30s", "TimeoutStopSec=15s", 1), envFile, "TimeoutStopSec=15s leaves"},
		{"grace above the stop timeout", unit, strings.Replace(envFile, "PHONEAPI_SHUTDOWN_GRACE=15s", "PHONEAPI_SHUTDOWN_GRACE=60s", 1), "shutdown grace 1m0s"},
		{"unset reference", strings.Replace(unit, "${PHONEAPI_ADDR}", "${PHONEAPI_LISTEN}", 1), envFile, "${PHONEAPI_LISTEN}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.unit == unit && tt.envFile == envFile {
				t.Fatal("the edit did not apply")
			}
			c, err := parseUnit(tt.unit, tt.envFile)
			if err != nil {
				t.Fatal(err)
			}
			got := c.problems(help)
			if !strings.Contains(strings.Join(got, "\n"), tt.want) {
				t.Errorf("problems %q, want one naming %s", got, tt.want)
			}
		})
	}
}
