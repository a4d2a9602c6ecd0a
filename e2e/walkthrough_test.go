package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestREADMEWalkthrough runs README.md's walk-through (between the
// walkthrough markers) with bash against a server of its own, as `make run`
// serves it, and compares the statuses it prints with the ones the README
// promises.
func TestREADMEWalkthrough(t *testing.T) {
	needServerBin(t)
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)<!-- walkthrough:begin -->\n```bash\n(.*?)```\n<!-- walkthrough:end -->").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md has no walkthrough block between the markers")
	}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(serverBin, filepath.Join(dir, "bin", "phoneapi")); err != nil {
		t.Fatal(err)
	}
	s := serve(t, "walkthrough server", "--db", filepath.Join(dir, "phoneapi.db"))
	script := strings.ReplaceAll(string(m[1]), "http://127.0.0.1:8080", s.URL)
	cmd := exec.Command("bash", "-e", "-o", "pipefail", "-c", script)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("walk-through: %v\n%s", err, out)
	}
	var got []string
	for _, l := range regexp.MustCompile(`(?m)^(?:HTTP/1\.1 (\d{3}) .*|→ (\d{3})|(\d{3}))\r?$`).FindAllStringSubmatch(string(out), -1) {
		got = append(got, l[1]+l[2]+l[3])
	}
	want := []string{"201", "201", "201", "201", "200", "409", "200", "204", "404"}
	if !slices.Equal(got, want) {
		t.Errorf("statuses %v, want %v\n%s", got, want, out)
	}
	if !regexp.MustCompile(`(?m)^Location: /api/v2/contacts/[0-9a-f-]{36}\r?$`).Match(out) {
		t.Errorf("no Location header in the output:\n%s", out)
	}
}
