package e2e

// The TypeScript client (clients/typescript: types from openapi-typescript,
// requests through openapi-fetch) against the server under test: its e2e
// script is compiled with the client's pinned tsc and run with Node.js.

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
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
	node := nodeOrSkip(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

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
	runTool(t, ctx, "3 minutes", "tsc -p clients/typescript", "", tsc)

	script := exec.CommandContext(ctx, node, filepath.Join(out, "e2e", "e2e.js"))
	script.Dir = out
	// The token goes by environment, not argv (the process list).
	script.Env = append(os.Environ(), "PHONEAPI_TS_E2E_URL="+target.url, "PHONEAPI_TS_E2E_TOKEN="+target.token)
	output := runTool(t, ctx, "3 minutes", "node e2e.js "+target.url, "ts-e2e: ok", script)
	t.Log(output)
}
