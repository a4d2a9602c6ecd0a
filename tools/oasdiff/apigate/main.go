// Command apigate is phoneapi's breaking-change gate and API changelog
// generator. It runs oasdiff (pinned by this module's go.mod, invoked as
// `go tool oasdiff`) between the last published contract and openapi.yaml.
//
//	apigate breaking  -base P -revision S -accepted A [-severity-levels L]
//	apigate changelog -base P -revision S -changelog C [-check] [-severity-levels L]
//	apigate publish   -version vX.Y.Z -base P -revision S -accepted A -changelog C [-severity-levels L]
//
// breaking exits 1 when oasdiff reports a breaking change (level ERR or WARN)
// that no entry of the accepted file matches, or when an accepted entry
// matches no change. changelog rewrites (or, with -check, verifies) the
// generated block of the changelog file. publish records a release: the
// generated block becomes the release's section, the spec is copied to the
// published snapshot and the accepted list is emptied.
//
// Run from this module's directory (make breaking does) so that
// `go tool oasdiff` resolves to the pinned oasdiff.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		if !errors.Is(err, errGate) {
			fmt.Fprintln(os.Stderr, "apigate:", err)
		}
		os.Exit(1)
	}
}

// errGate reports that a check failed; its findings were already printed.
var errGate = errors.New("gate failed")

// run dispatches a subcommand; it returns errGate (after printing the
// findings to out) when a check fails, and any other error for bad usage
// or input.
func run(args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: apigate breaking|changelog|publish [flags]")
	}
	fs := flag.NewFlagSet("apigate "+args[0], flag.ContinueOnError)
	goCmd := fs.String("go", "go", "the go command that runs `go tool oasdiff`")
	base := fs.String("base", "", "the published contract (the base of the comparison)")
	rev := fs.String("revision", "", "the current spec (openapi.yaml)")
	accepted := fs.String("accepted", "", "the reviewed list of accepted breaking changes")
	changelog := fs.String("changelog", "", "the API changelog file")
	check := fs.Bool("check", false, "changelog: fail if the file is out of date instead of rewriting it")
	version := fs.String("version", "", "publish: the release, vMAJOR.MINOR.PATCH")
	levels := fs.String("severity-levels", "", "oasdiff's --severity-levels file (lines of: rule-id err|warn|info|none)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	od := oasdiff{goCmd: *goCmd, levels: *levels}
	need := func(names ...string) error {
		for _, n := range names {
			if fs.Lookup(n).Value.String() == "" {
				return fmt.Errorf("%s: -%s is required", args[0], n)
			}
		}
		return nil
	}
	switch args[0] {
	case "breaking":
		if err := need("base", "revision", "accepted"); err != nil {
			return err
		}
		return gate(od, *base, *rev, *accepted, out)
	case "changelog":
		if err := need("base", "revision", "changelog"); err != nil {
			return err
		}
		return syncChangelog(od, *base, *rev, *changelog, *check, out)
	case "publish":
		if err := need("version", "base", "revision", "accepted", "changelog"); err != nil {
			return err
		}
		return publish(od, *version, *base, *rev, *accepted, *changelog, time.Now().UTC(), out)
	}
	return fmt.Errorf("unknown subcommand %q (want breaking, changelog or publish)", args[0])
}

// oasdiff runs the pinned oasdiff through `go tool`, with levels (if not
// empty) as its --severity-levels file of rule ids whose level phoneapi
// raises or lowers.
type oasdiff struct{ goCmd, levels string }

// output runs oasdiff with args and returns its standard output; a non-zero
// exit is an error carrying its standard error. The severity levels file,
// if any, applies.
func (o oasdiff) output(args ...string) ([]byte, error) {
	if o.levels != "" {
		args = append(args, "--severity-levels", o.levels)
	}
	cmd := exec.Command(o.goCmd, append([]string{"tool", "oasdiff"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("oasdiff %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return b, nil
}

// change is one finding of `oasdiff breaking -f json`.
type change struct {
	ID        string `json:"id"`
	Text      string `json:"text"`
	Level     int    `json:"level"`
	Operation string `json:"operation"`
	Path      string `json:"path"`
}

// oasdiff's severity levels (checker.ERR, checker.WARN).
const (
	levelWarn = 2
	levelErr  = 3
)

func levelName(l int) string {
	switch l {
	case levelErr:
		return "ERR"
	case levelWarn:
		return "WARN"
	}
	return fmt.Sprintf("level %d", l)
}

// breaking returns the changes oasdiff calls breaking (ERR and WARN) from
// base to rev.
func (o oasdiff) breaking(base, rev string) ([]change, error) {
	b, err := o.output("breaking", base, rev, "--format", "json")
	if err != nil {
		return nil, err
	}
	var cs []change
	if err := json.Unmarshal(b, &cs); err != nil {
		return nil, fmt.Errorf("oasdiff breaking: decoding its json output: %w", err)
	}
	var out []change
	for _, c := range cs {
		if c.Level >= levelWarn {
			out = append(out, c)
		}
	}
	return out, nil
}

// entry is one reviewed breaking change in the accepted file. ID, Operation,
// Path and Text must equal oasdiff's finding; Reason says why breaking the
// published contract is acceptable.
type entry struct {
	ID        string `yaml:"id"`
	Operation string `yaml:"operation"`
	Path      string `yaml:"path"`
	Text      string `yaml:"text"`
	Reason    string `yaml:"reason"`
}

func (e entry) matches(c change) bool {
	return e.ID == c.ID && e.Operation == c.Operation && e.Path == c.Path && e.Text == c.Text
}

// acceptedFile is the accepted file's layout.
type acceptedFile struct {
	Accepted []entry `yaml:"accepted"`
}

// acceptedHeader heads the accepted file that publish writes.
const acceptedHeader = `# Reviewed breaking changes between tools/api/published.yaml (the last
# published contract) and openapi.yaml. make breaking fails on any breaking
# change (oasdiff level ERR or WARN) not listed here, and on any entry here
# that matches no change. Each entry copies id, operation, path and text from
# make breaking's output (under accepted:, in place of []) and says in
# reason why the break is acceptable. make publish-api empties this list.
`

// readAccepted loads the accepted file; every entry needs an id, a text and a
// reason (not the TODO placeholder that gate prints).
func readAccepted(path string) ([]entry, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var f acceptedFile
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for i, e := range f.Accepted {
		if strings.TrimSpace(e.ID) == "" || strings.TrimSpace(e.Text) == "" {
			return nil, fmt.Errorf("%s: accepted entry %d: id and text are required", path, i+1)
		}
		if r := strings.TrimSpace(e.Reason); r == "" || strings.HasPrefix(r, "TODO") {
			return nil, fmt.Errorf("%s: accepted entry %d (%s %s %s): a reason is required", path, i+1, e.ID, e.Operation, e.Path)
		}
	}
	return f.Accepted, nil
}

// gate prints every breaking change from base to rev that the accepted file
// does not list (with the entry that would accept it) and every accepted
// entry that matches no change; it returns errGate if there is any.
func gate(od oasdiff, base, rev, acceptedPath string, out io.Writer) error {
	accepted, err := readAccepted(acceptedPath)
	if err != nil {
		return err
	}
	changes, err := od.breaking(base, rev)
	if err != nil {
		return err
	}
	used := make([]bool, len(accepted))
	var open []change
	for _, c := range changes {
		ok := false
		for i, e := range accepted {
			if e.matches(c) {
				used[i], ok = true, true
			}
		}
		if !ok {
			open = append(open, c)
		}
	}
	var stale []entry
	for i, e := range accepted {
		if !used[i] {
			stale = append(stale, e)
		}
	}
	fmt.Fprintf(out, "oasdiff breaking %s %s: %d breaking change(s), %d accepted in %s\n",
		base, rev, len(changes), len(changes)-len(open), acceptedPath)
	if len(open) > 0 {
		fmt.Fprintf(out, "\n%d breaking change(s) not accepted. Restore the contract, or accept each one after review by adding it to %s with a reason:\n\n", len(open), acceptedPath)
		for _, c := range open {
			fmt.Fprintf(out, "# %s %s %s %s: %s\n", levelName(c.Level), c.ID, c.Operation, c.Path, c.Text)
			b, err := yaml.Marshal([]entry{{ID: c.ID, Operation: c.Operation, Path: c.Path, Text: c.Text, Reason: "TODO: why clients may break"}})
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "%s\n", indent(string(b), "  "))
		}
	}
	if len(stale) > 0 {
		fmt.Fprintf(out, "\n%d accepted entr(y/ies) in %s match no breaking change; remove them:\n", len(stale), acceptedPath)
		for _, e := range stale {
			fmt.Fprintf(out, "- %s %s %s: %s\n", e.ID, e.Operation, e.Path, e.Text)
		}
	}
	if len(open) > 0 || len(stale) > 0 {
		return errGate
	}
	return nil
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n")
}

// The generated block of the changelog file lies between these markers.
const (
	beginMarker = "<!-- BEGIN unreleased: generated by `make api-changelog` (oasdiff changelog tools/api/published.yaml openapi.yaml); do not edit -->"
	endMarker   = "<!-- END unreleased -->"
)

// changelogHeader heads a changelog file that does not exist yet.
const changelogHeader = `# API changelog

Changes to the contract (openapi.yaml), newest first, as ` + "`oasdiff changelog`" + ` reports
them. "Unreleased" compares the last published contract
(tools/api/published.yaml) with openapi.yaml and is regenerated by
` + "`make api-changelog`" + `; ` + "`make check-api-changelog`" + ` fails when it is out of date.
` + "`make publish-api VERSION=vX.Y.Z`" + ` turns it into that release's section.
Breaking changes are marked :warning:.

`

// unreleased renders the generated block: oasdiff's markdown changelog from
// base to rev under an "Unreleased" heading, its own headings moved two
// levels down.
func unreleased(od oasdiff, base, rev string) (string, error) {
	b, err := od.output("changelog", base, rev, "--format", "markdown")
	if err != nil {
		return "", err
	}
	return "## Unreleased\n\n" + demote(string(b)), nil
}

// demote moves every markdown heading in s two levels down and trims blank
// lines at its ends.
func demote(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "#") {
			lines[i] = "##" + l
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

// splitChangelog returns the text before the generated block, the block's
// content and the text after it; a missing file is the default header with
// an empty block.
func splitChangelog(path string) (before, block, after string, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return changelogHeader, "", "", nil
	}
	if err != nil {
		return "", "", "", err
	}
	s := string(b)
	i := strings.Index(s, beginMarker)
	j := strings.Index(s, endMarker)
	if i < 0 || j < i {
		return "", "", "", fmt.Errorf("%s: the markers of the generated block are missing (%q ... %q)", path, beginMarker, endMarker)
	}
	return s[:i], strings.TrimPrefix(s[i+len(beginMarker):j], "\n"), s[j+len(endMarker):], nil
}

func joinChangelog(before, block, after string) string {
	if after == "" {
		after = "\n"
	}
	return before + beginMarker + "\n" + block + endMarker + after
}

// syncChangelog regenerates the changelog's generated block; with check it
// only reports (and returns errGate) when the file differs.
func syncChangelog(od oasdiff, base, rev, path string, check bool, out io.Writer) error {
	before, block, after, err := splitChangelog(path)
	if err != nil {
		return err
	}
	want, err := unreleased(od, base, rev)
	if err != nil {
		return err
	}
	if check {
		if _, statErr := os.Stat(path); statErr != nil || block != want {
			fmt.Fprintf(out, "%s is out of date with oasdiff changelog %s %s: run 'make api-changelog' and commit the result\n", path, base, rev)
			return errGate
		}
		return nil
	}
	return os.WriteFile(path, []byte(joinChangelog(before, want, after)), 0o644)
}

var versionRE = regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+$`)

// publish records release version: the changelog's unreleased block
// (regenerated) becomes the section "## version (date)" below the block,
// rev is copied to base, the accepted file is emptied and the block is
// regenerated (now empty of changes). It refuses a version already in the
// changelog.
func publish(od oasdiff, version, base, rev, acceptedPath, changelogPath string, now time.Time, out io.Writer) error {
	if !versionRE.MatchString(version) {
		return fmt.Errorf("publish: version %q is not vMAJOR.MINOR.PATCH", version)
	}
	before, _, after, err := splitChangelog(changelogPath)
	if err != nil {
		return err
	}
	if strings.Contains(after, "\n## "+version+" ") {
		return fmt.Errorf("publish: %s already has a section for %s", changelogPath, version)
	}
	cur, err := unreleased(od, base, rev)
	if err != nil {
		return err
	}
	section := "## " + version + " (" + now.Format("2006-01-02") + ")" + strings.TrimPrefix(cur, "## Unreleased")
	spec, err := os.ReadFile(rev)
	if err != nil {
		return err
	}
	if err := os.WriteFile(base, spec, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(acceptedPath, []byte(acceptedHeader+"accepted: []\n"), 0o644); err != nil {
		return err
	}
	empty, err := unreleased(od, base, rev)
	if err != nil {
		return err
	}
	if err := os.WriteFile(changelogPath, []byte(joinChangelog(before, empty, "\n\n"+section+strings.TrimPrefix(after, "\n"))), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(out, "published %s: %s is now %s; %s emptied; %s has its section\n", version, base, rev, acceptedPath, changelogPath)
	return nil
}
