package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// The repository's spec, from this package's directory.
const repoSpec = "../../../openapi.yaml"

// od uses the repository's severity levels, under which removing an
// optional response attribute is breaking.
var od = oasdiff{goCmd: "go", levels: "../../api/severity-levels.txt"}

// mapGet walks the mapping keys below n (a document or mapping node) and
// returns the value node, or nil.
func mapGet(n *yaml.Node, keys ...string) *yaml.Node {
	if n.Kind == yaml.DocumentNode {
		n = n.Content[0]
	}
	for _, k := range keys {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
			}
		}
		n = next
	}
	return n
}

// requirePageSize makes the optional query parameter page[size] required.
func requirePageSize(t *testing.T, root *yaml.Node) {
	p := mapGet(root, "components", "parameters", "PageSize")
	if p == nil || mapGet(p, "name").Value != "page[size]" {
		t.Fatal("components.parameters.PageSize (page[size]) is not in openapi.yaml; pick another optional parameter")
	}
	if r := mapGet(p, "required"); r != nil {
		r.Value, r.Tag = "true", "!!bool"
		return
	}
	p.Content = append(p.Content,
		&yaml.Node{Kind: yaml.ScalarNode, Value: "required"},
		&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"})
}

// dropContactName removes the response attribute name from contacts.
func dropContactName(t *testing.T, root *yaml.Node) {
	props := mapGet(root, "components", "schemas", "ContactAttributes", "properties")
	if props == nil || mapGet(props, "name") == nil {
		t.Fatal("components.schemas.ContactAttributes.properties.name is not in openapi.yaml; pick another response attribute")
	}
	for i := 0; i+1 < len(props.Content); i += 2 {
		if props.Content[i].Value == "name" {
			props.Content = append(props.Content[:i], props.Content[i+2:]...)
			break
		}
	}
	if req := mapGet(root, "components", "schemas", "ContactAttributes", "required"); req != nil {
		for i, n := range req.Content {
			if n.Value == "name" {
				req.Content = append(req.Content[:i], req.Content[i+1:]...)
				break
			}
		}
	}
}

// specCopy writes openapi.yaml, changed by each mutation, to a file in dir.
func specCopy(t *testing.T, dir, name string, mutations ...func(*testing.T, *yaml.Node)) string {
	t.Helper()
	b, err := os.ReadFile(repoSpec)
	if err != nil {
		t.Fatal(err)
	}
	if len(mutations) > 0 {
		var root yaml.Node
		if err := yaml.Unmarshal(b, &root); err != nil {
			t.Fatal(err)
		}
		for _, m := range mutations {
			m(t, &root)
		}
		if b, err = yaml.Marshal(&root); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// acceptFile writes an accepted file with an entry (reason given) for each
// change.
func acceptFile(t *testing.T, dir string, changes []change, reason string) string {
	t.Helper()
	var f acceptedFile
	for _, c := range changes {
		f.Accepted = append(f.Accepted, entry{ID: c.ID, Operation: c.Operation, Path: c.Path, Text: c.Text, Reason: reason})
	}
	b, err := yaml.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "accepted.yaml")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func mentioning(cs []change, s string) []change {
	var out []change
	for _, c := range cs {
		if strings.Contains(c.Text, s) {
			out = append(out, c)
		}
	}
	return out
}

func TestGate(t *testing.T) {
	dir := t.TempDir()
	base := specCopy(t, dir, "published.yaml")
	same := specCopy(t, dir, "same.yaml")
	param := specCopy(t, dir, "param.yaml", requirePageSize)
	both := specCopy(t, dir, "both.yaml", requirePageSize, dropContactName)

	changes, err := od.breaking(base, both)
	if err != nil {
		t.Fatal(err)
	}
	paramChanges, nameChanges := mentioning(changes, "page[size]"), mentioning(changes, "attributes/name")
	if len(paramChanges) < 2 || len(nameChanges) == 0 {
		t.Fatalf("oasdiff does not report the required page[size] (on two operations or more) and the removed attributes/name as breaking: %+v", changes)
	}
	// page[size] turned into a WARN: the gate fails on WARN as on ERR.
	warnLevels := filepath.Join(dir, "levels.txt")
	if err := os.WriteFile(warnLevels, []byte("request-parameter-became-required warn\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	first := paramChanges[0]

	tests := []struct {
		name     string
		rev      string
		accepted []change // entries written to the accepted file
		reason   string
		levels   string // oasdiff's severity levels file, if not the repository's
		wantErr  error  // errGate, nil, or (wantMsg) another error
		want     string // in the output (or the error)
		notWant  string // not in the output
	}{
		{name: "unchanged spec passes", rev: same, want: "0 breaking change(s)"},
		{name: "required parameter fails naming it", rev: param, wantErr: errGate,
			want: "request parameter `page[size]`"},
		{name: "WARN fails too", rev: param, levels: warnLevels, wantErr: errGate,
			want: "# WARN request-parameter-became-required"},
		{name: "removed response attribute fails naming it", rev: both, wantErr: errGate,
			want: "`data/attributes/name`"},
		{name: "accepted entry silences exactly its change", rev: both, accepted: paramChanges, reason: "reviewed", wantErr: errGate,
			want: "`data/attributes/name`", notWant: "page[size]"},
		{name: "an entry accepts one operation's change, not the same change elsewhere", rev: param, accepted: paramChanges[:1], reason: "reviewed", wantErr: errGate,
			want: fmt.Sprintf("%d breaking change(s), 1 accepted", len(paramChanges)), notWant: first.Operation + " " + first.Path + ":"},
		{name: "all changes accepted pass", rev: both, accepted: changes, reason: "reviewed",
			want: "accepted in"},
		{name: "stale accepted entry fails", rev: same, accepted: paramChanges, reason: "reviewed", wantErr: errGate,
			want: "match no breaking change"},
		{name: "entry without reason is rejected", rev: param, accepted: paramChanges, reason: " ",
			wantErr: errors.New("any"), want: "a reason is required"},
		{name: "the TODO reason is rejected", rev: param, accepted: paramChanges, reason: "TODO: why clients may break",
			wantErr: errors.New("any"), want: "a reason is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acc := acceptFile(t, t.TempDir(), tt.accepted, tt.reason)
			var out bytes.Buffer
			o := od
			if tt.levels != "" {
				o.levels = tt.levels
			}
			err := gate(o, base, tt.rev, acc, &out)
			got := out.String()
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("gate: %v\n%s", err, got)
			case tt.wantErr == errGate && !errors.Is(err, errGate):
				t.Fatalf("gate: err %v, want the gate to fail\n%s", err, got)
			case tt.wantErr != nil && tt.wantErr != errGate:
				if err == nil || errors.Is(err, errGate) {
					t.Fatalf("gate: err %v, want an input error", err)
				}
				got = err.Error()
			}
			if !strings.Contains(got, tt.want) {
				t.Errorf("output lacks %q:\n%s", tt.want, got)
			}
			if tt.notWant != "" && strings.Contains(got, tt.notWant) {
				t.Errorf("output has %q:\n%s", tt.notWant, got)
			}
			if errors.Is(err, errGate) && strings.Contains(tt.want, "`") && !strings.Contains(got, "reason: 'TODO") {
				t.Errorf("output does not show how to accept the change:\n%s", got)
			}
		})
	}
}

func TestChangelog(t *testing.T) {
	dir := t.TempDir()
	base := specCopy(t, dir, "published.yaml")
	param := specCopy(t, dir, "param.yaml", requirePageSize)
	cl := filepath.Join(dir, "CHANGELOG.md")
	var out bytes.Buffer

	if err := syncChangelog(od, base, base, cl, true, &out); !errors.Is(err, errGate) {
		t.Fatalf("check of a missing changelog: %v, want the check to fail", err)
	}
	if err := syncChangelog(od, base, base, cl, false, &out); err != nil {
		t.Fatal(err)
	}
	if err := syncChangelog(od, base, base, cl, true, &out); err != nil {
		t.Fatalf("check right after writing: %v\n%s", err, out.String())
	}
	// Text outside the generated block is kept.
	b, _ := os.ReadFile(cl)
	if err := os.WriteFile(cl, append(b, "\n## v0.0.1 (2000-01-01)\n\nhand-kept history\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := syncChangelog(od, base, param, cl, true, &out); !errors.Is(err, errGate) || !strings.Contains(out.String(), "make api-changelog") {
		t.Fatalf("check after the spec changed: %v %q, want it to fail and say how to fix it", err, out.String())
	}
	if err := syncChangelog(od, base, param, cl, false, &out); err != nil {
		t.Fatal(err)
	}
	if err := syncChangelog(od, base, param, cl, true, &out); err != nil {
		t.Fatalf("check after regenerating: %v", err)
	}
	b, _ = os.ReadFile(cl)
	for _, want := range []string{"## Unreleased", "page[size]", ":warning:", "hand-kept history", beginMarker, endMarker} {
		if !strings.Contains(string(b), want) {
			t.Errorf("changelog lacks %q:\n%s", want, b)
		}
	}
}

func TestPublish(t *testing.T) {
	dir := t.TempDir()
	base := specCopy(t, dir, "published.yaml")
	rev := specCopy(t, dir, "openapi.yaml", requirePageSize)
	cl := filepath.Join(dir, "CHANGELOG.md")
	var out bytes.Buffer
	if err := syncChangelog(od, base, rev, cl, false, &out); err != nil {
		t.Fatal(err)
	}
	changes, err := od.breaking(base, rev)
	if err != nil {
		t.Fatal(err)
	}
	acc := acceptFile(t, dir, changes, "reviewed")
	now := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)

	if err := publish(od, "2.1", base, rev, acc, cl, now, &out); err == nil {
		t.Fatal("publish accepted version 2.1")
	}
	if err := publish(od, "v2.1.0", base, rev, acc, cl, now, &out); err != nil {
		t.Fatal(err)
	}
	if a, _ := os.ReadFile(base); !bytes.Equal(a, mustRead(t, rev)) {
		t.Error("the published snapshot is not the spec")
	}
	if es, err := readAccepted(acc); err != nil || len(es) != 0 {
		t.Errorf("accepted list after publish: %v, %v; want it empty", es, err)
	}
	out.Reset()
	if err := gate(od, base, rev, acc, &out); err != nil {
		t.Errorf("gate after publish: %v\n%s", err, out.String())
	}
	if err := syncChangelog(od, base, rev, cl, true, &out); err != nil {
		t.Errorf("changelog check after publish: %v", err)
	}
	b := string(mustRead(t, cl))
	end := strings.Index(b, endMarker)
	unrel, released := b[:end], b[end:]
	if !strings.Contains(unrel, "No changes detected") || strings.Contains(unrel, "page[size]") {
		t.Errorf("unreleased block after publish still has the release's changes:\n%s", unrel)
	}
	if !strings.Contains(released, "\n## v2.1.0 (2026-12-04)\n") || !strings.Contains(released, "page[size]") {
		t.Errorf("no v2.1.0 section with its changes below the block:\n%s", released)
	}
	if err := publish(od, "v2.1.0", base, rev, acc, cl, now, &out); err == nil {
		t.Error("publishing v2.1.0 twice succeeded")
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
