package e2e

// The TypeScript client (clients/typescript: types from openapi-typescript,
// requests through openapi-fetch) against the server under test: its e2e
// script is compiled with the client's pinned tsc and run with Node.js.

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTypeScriptClient compiles clients/typescript (tsc --strict, into a
// temporary directory) and runs its e2e script, which creates a contact,
// a person and five phones, reads a phone, lists the phones over three pages
// by links.next, updates with the updated_in_db_at precondition, gets a 409
// (with meta.updated_in_db_at) for the stale value, and deletes, through
// createPhoneapiClient only. The script prints one line a step; any status,
// header or body other than expected fails it. Without Node.js or
// clients/typescript/node_modules the test skips (fails under CI).
func TestTypeScriptClient(t *testing.T) {
	if target.url == "" {
		t.Skip("no server under test (-short)")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	pkg := filepath.Join(root, "clients", "typescript")
	modules := filepath.Join(pkg, "node_modules")
	for _, dep := range []string{"typescript", "openapi-fetch"} {
		if _, err := os.Stat(filepath.Join(modules, dep, "package.json")); err != nil {
			skipUnlessCI(t, "clients/typescript/node_modules/%s is missing: run `make tools` (npm ci in clients/typescript) (%v)", dep, err)
		}
	}
	node, err := exec.LookPath("node")
	if err != nil {
		skipUnlessCI(t, "no node on PATH (Node.js 20+ is needed, as for `make tools`): %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run := func(what string, cmd *exec.Cmd) string {
		t.Helper()
		out, err := cmd.CombinedOutput()
		output := strings.TrimSpace(string(out))
		var exit *exec.ExitError
		switch {
		case ctx.Err() != nil:
			t.Fatalf("%s did not finish within 3 minutes; output:\n%s", what, output)
		case errors.As(err, &exit):
			t.Fatalf("%s: exit status %d; output:\n%s", what, exit.ExitCode(), output)
		case err != nil:
			t.Fatalf("%s: %v; output:\n%s", what, err, output)
		}
		return output
	}

	// Compile outside the source tree; the output finds openapi-fetch through
	// a node_modules link and runs as ES modules like the package itself.
	out := t.TempDir()
	if err := os.Symlink(modules, filepath.Join(out, "node_modules")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "package.json"), []byte(`{"type": "module"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tsc := exec.CommandContext(ctx, node, filepath.Join(modules, "typescript", "bin", "tsc"), "-p", pkg, "--outDir", out)
	tsc.Dir = pkg
	run("tsc -p clients/typescript", tsc)

	script := exec.CommandContext(ctx, node, filepath.Join(out, "e2e", "e2e.js"))
	script.Dir = out
	// The token goes by environment, not argv (the process list).
	script.Env = append(os.Environ(), "PHONEAPI_TS_E2E_URL="+target.url, "PHONEAPI_TS_E2E_TOKEN="+target.token)
	output := run("node e2e.js "+target.url, script)
	if !strings.Contains(output, "ts-e2e: ok") {
		t.Fatalf("node e2e.js exited 0 without its summary; output:\n%s", output)
	}
	t.Log(output)
}
