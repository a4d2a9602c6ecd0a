package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestMain(m *testing.M) {
	maybeServeBaseline() // the baseline's process is this test binary, re-run
	os.Exit(m.Run())
}

// TestCompareBaseline builds phoneapi and runs a very short
// --compare-baseline: every operation on both servers must have requests
// and no errors. It checks that the tool works, not the speed.
func TestCompareBaseline(t *testing.T) {
	if testing.Short() {
		t.Skip("builds phoneapi and runs servers")
	}
	dir := t.TempDir()
	bin := buildPhoneapi(t, dir)
	jsonPath := filepath.Join(dir, "bench.json")
	cfg := config{bin: bin, contacts: 20, people: 2, phones: 3, clients: 4, duration: 1e9, compare: true, jsonPath: jsonPath}
	if err := cfg.check(); err != nil {
		t.Fatal(err)
	}
	rep, err := bench(cfg, testWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.writeJSON(jsonPath); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var got report
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	seen := map[string]result{}
	for _, r := range got.Results {
		seen[r.Server+"/"+r.Op] = r
	}
	for _, server := range []string{"phoneapi", "baseline"} {
		for _, op := range opNames {
			r, ok := seen[server+"/"+op]
			switch {
			case !ok:
				t.Errorf("%s %s: missing from the JSON", server, op)
			case r.Requests == 0 || r.Errors != 0:
				t.Errorf("%s %s: %d requests, %d errors %q; want some and none", server, op, r.Requests, r.Errors, r.ErrorSamples)
			}
		}
	}
	if len(got.Ratios) != len(opNames) {
		t.Errorf("%d ratios, want %d", len(got.Ratios), len(opNames))
	}
	for _, server := range []string{"phoneapi", "baseline"} {
		if r := seen[server+"/get"]; r.RSSBytes == 0 || r.CPUSeconds == 0 {
			t.Errorf("%s get: RSS %d bytes, CPU %g s; want both sampled", server, r.RSSBytes, r.CPUSeconds)
		}
	}
}

// buildPhoneapi builds cmd/phoneapi into dir and returns the binary's path.
func buildPhoneapi(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "phoneapi")
	build := exec.Command("go", "build", "-o", bin, "github.com/phoneapi/phoneapi/cmd/phoneapi")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// testWriter sends the tool's progress to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

// TestOpsAndProfile runs one operation with -profile: only that operation
// is measured, and phoneapi's CPU and allocation profiles of it are
// written.
func TestOpsAndProfile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds phoneapi and runs a server")
	}
	dir := t.TempDir()
	bin := buildPhoneapi(t, dir)
	profiles := filepath.Join(dir, "profiles")
	cfg := config{bin: bin, contacts: 5, people: 1, phones: 2, clients: 2, duration: 1e9, ops: []string{"list"}, profileDir: profiles}
	if err := cfg.check(); err != nil {
		t.Fatal(err)
	}
	rep, err := bench(cfg, testWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 1 || rep.Results[0].Op != "list" || rep.Results[0].Requests == 0 {
		t.Fatalf("results %+v, want one list result with requests", rep.Results)
	}
	for _, name := range []string{"list.cpu.pprof", "list.allocs.pprof"} {
		fi, err := os.Stat(filepath.Join(profiles, name))
		if err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v (want a non-empty profile)", name, err)
		}
	}
	bad := config{clients: 1, duration: 1e9, contacts: 1, people: 1, phones: 1, ops: []string{"nap"}}
	if err := bad.check(); err == nil {
		t.Error("-ops nap: no error")
	}
}
