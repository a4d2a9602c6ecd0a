package e2e

// A JSON:API client library nobody here wrote, against the server under
// test: tools/jsonapi-client/jsona-check.mjs drives it with jsona (pinned in
// tools/package.json, installed by `make tools`).

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

// TestJSONAPIClientJsona runs jsona-check.mjs with Node.js: create bodies
// that jsona serialised (relationships included) must be accepted, and
// compound documents (include=phone_numbers,contact on a person and on the
// contact-less people list) must deserialise into linked objects. The
// script's output says what did not hold. Without Node.js or
// tools/node_modules/jsona the test skips (fails under CI).
func TestJSONAPIClientJsona(t *testing.T) {
	if target.url == "" {
		t.Skip("no server under test (-short)")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(root, "tools", "jsonapi-client", "jsona-check.mjs")
	if _, err := os.Stat(filepath.Join(root, "tools", "node_modules", "jsona", "package.json")); err != nil {
		skipUnlessCI(t, "tools/node_modules/jsona is missing: run `make tools` to install the pinned npm tools (%v)", err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		skipUnlessCI(t, "no node on PATH (Node.js 20+ is needed, as for `make tools`): %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script, target.url)
	cmd.Dir = root
	// The token goes by environment, not argv (the process list).
	cmd.Env = append(os.Environ(), "JSONA_CHECK_TOKEN="+target.token)
	out, err := cmd.CombinedOutput()
	output := strings.TrimSpace(string(out))
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("node %s did not finish within 2 minutes; output:\n%s", filepath.Base(script), output)
	case errors.As(err, &exit):
		t.Fatalf("node %s %s: exit status %d; output:\n%s", filepath.Base(script), target.url, exit.ExitCode(), output)
	case err != nil:
		t.Fatalf("node %s: %v; output:\n%s", filepath.Base(script), err, output)
	case !strings.Contains(output, "jsona-check: ok"):
		t.Fatalf("node %s exited 0 without its summary; output:\n%s", filepath.Base(script), output)
	}
	t.Log(output)
}
