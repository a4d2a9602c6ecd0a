package handlers

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// The spec's shape for generators (oasdiff, openapi-typescript,
// oapi-codegen): how nullability is spelled, and which response members
// are required.

// eachSchema calls fn for every schema reachable from the components'
// schemas, once, with a path for messages.
func eachSchema(doc *openapi3.T, fn func(path string, s *openapi3.Schema)) {
	seen := map[*openapi3.Schema]bool{}
	var walk func(path string, ref *openapi3.SchemaRef)
	walk = func(path string, ref *openapi3.SchemaRef) {
		if ref == nil || ref.Value == nil || seen[ref.Value] {
			return
		}
		s := ref.Value
		seen[s] = true
		fn(path, s)
		for name, p := range s.Properties {
			walk(path+"/properties/"+name, p)
		}
		walk(path+"/items", s.Items)
		if s.AdditionalProperties.Schema != nil {
			walk(path+"/additionalProperties", s.AdditionalProperties.Schema)
		}
		for _, list := range []struct {
			name string
			refs openapi3.SchemaRefs
		}{{"oneOf", s.OneOf}, {"anyOf", s.AnyOf}, {"allOf", s.AllOf}} {
			for i, r := range list.refs {
				walk(path+"/"+list.name+"/"+string(rune('0'+i)), r)
			}
		}
		walk(path+"/not", s.Not)
	}
	for name, ref := range doc.Components.Schemas {
		walk("#/components/schemas/"+name, ref)
	}
}

// Nullability is spelled `type` + `nullable: true`, the one spelling that
// OpenAPI 3.0.3 defines and every tool reads alike: never `nullable`
// without `type`, nor an `enum: [null]` branch (oasdiff reports a change
// of nullability between such spellings).
func TestSpecNullableSpelling(t *testing.T) {
	doc, _ := loadSpec(t)
	nullables := 0
	eachSchema(doc, func(path string, s *openapi3.Schema) {
		if s.Nullable {
			nullables++
			if s.Type == nil || len(s.Type.Slice()) != 1 {
				t.Errorf("%s: nullable without a type", path)
			}
		}
		if slices.Contains(s.Enum, nil) {
			t.Errorf("%s: null in enum; spell it type + nullable: true", path)
		}
	})
	if nullables == 0 {
		t.Error("no nullable schema found: the walk is broken")
	}
}

// resourceSchemas returns the resource object schemas of the spec (those
// with id, a one-value type and attributes), by type.
func resourceSchemas(doc *openapi3.T) map[string]*openapi3.Schema {
	out := map[string]*openapi3.Schema{}
	for _, ref := range doc.Components.Schemas {
		s := ref.Value
		tp := s.Properties["type"]
		if tp == nil || s.Properties["id"] == nil || s.Properties["attributes"] == nil || len(tp.Value.Enum) != 1 {
			continue
		}
		out[tp.Value.Enum[0].(string)] = s
	}
	return out
}

// Every attribute and relationship of a resource in a response is present
// without fields[...], so the spec marks each required (generated clients
// then type a plain read without optional members), and readOnly (so that
// oapi-codegen keeps the Go fields optional, for sparse fieldsets).
func TestSpecResponseMembersRequired(t *testing.T) {
	doc, _ := loadSpec(t)
	resources := resourceSchemas(doc)
	for _, typ := range []string{"contacts", "people", "phone_numbers", "deleted_records"} {
		s := resources[typ]
		if s == nil {
			t.Errorf("no resource schema for %s", typ)
			continue
		}
		members := []*openapi3.Schema{s.Properties["attributes"].Value}
		if rel := s.Properties["relationships"]; rel != nil {
			members = append(members, rel.Value)
			if !slices.Contains(s.Required, "relationships") {
				t.Errorf("%s: relationships not required", typ)
			}
		}
		for _, m := range members {
			if len(m.Properties) == 0 {
				t.Errorf("%s: no members", typ)
			}
			for name, p := range m.Properties {
				if !slices.Contains(m.Required, name) {
					t.Errorf("%s: %s not required", typ, name)
				}
				if !p.Value.ReadOnly {
					t.Errorf("%s: %s not readOnly", typ, name)
				}
			}
		}
	}
}

// sparseSpec (harness_test.go), which every response to a request with
// fields[...] is validated against, requires exactly the listed members,
// and the full spec all of them.
func TestSparseSpec(t *testing.T) {
	full, _ := loadSpec(t)
	contact := func(attrs map[string]any) map[string]any {
		return map[string]any{"data": map[string]any{
			"id": "eefc03da-13c3-49fa-acf0-d755517a2cef", "type": "contacts", "attributes": attrs,
		}}
	}
	name := map[string]any{"name": "Jane and John Doe"}
	stamp := map[string]any{"updated_in_db_at": "2026-11-28T05:49:12.418Z"}
	for _, tc := range []struct {
		name   string
		fields url.Values // nil: the full spec
		doc    map[string]any
		errAt  string // "" if the document matches
	}{
		{"full spec, sparse document", nil, contact(name), "created_at"},
		{"listed member present", url.Values{"fields[contacts]": {"name"}}, contact(name), ""},
		{"listed member missing", url.Values{"fields[contacts]": {"name"}}, contact(stamp), "name"},
		{"relationship listed, absent", url.Values{"fields[contacts]": {"name,people"}}, contact(name), "relationships"},
		{"other type listed", url.Values{"fields[people]": {"first_name"}}, contact(name), "created_at"},
		{"unknown member", url.Values{"fields[contacts]": {"name"}}, contact(map[string]any{"name": "x", "nick": "y"}), "nick"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := full
			if tc.fields != nil {
				doc, _ = sparseSpec(t, tc.fields)
			}
			err := doc.Components.Schemas["ContactDocument"].Value.VisitJSON(tc.doc, openapi3.VisitAsResponse())
			switch {
			case tc.errAt == "" && err != nil:
				t.Errorf("want a match, got %v", err)
			case tc.errAt != "" && (err == nil || !strings.Contains(err.Error(), tc.errAt)):
				t.Errorf("want an error about %s, got %v", tc.errAt, err)
			}
		})
	}
	// The full spec is not narrowed by building a sparse one.
	if !slices.Contains(full.Components.Schemas["ContactAttributes"].Value.Required, "created_at") {
		t.Error("sparseSpec changed the full spec")
	}
}
