package e2e

// A JSON:API client library nobody here wrote, against the server under
// test: tools/jsonapi-client/jsona-check.mjs drives it with jsona (pinned in
// tools/package.json, installed by `make tools`).

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
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
	node := nodeOrSkip(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script, target.url)
	cmd.Dir = root
	// The token goes by environment, not argv (the process list).
	cmd.Env = append(os.Environ(), "JSONA_CHECK_TOKEN="+target.token)
	output := runTool(t, ctx, "2 minutes", "node "+filepath.Base(script)+" "+target.url, "jsona-check: ok", cmd)
	t.Log(output)
}
