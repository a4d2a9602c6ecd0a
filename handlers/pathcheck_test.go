package handlers

import (
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"
)

// TestPathParamsCheckedOnce: kin-openapi's parameter validation leaves out
// exactly the path parameters checkPathIDs holds to all their schema asks.
// Every path parameter of the spec is one, every other parameter stays,
// every id isUUID accepts satisfies the schema that is left out, and a
// schema asking more than isUUID enforces keeps its parameter in.
func TestPathParamsCheckedOnce(t *testing.T) {
	ids := []string{uuid.NewString(), strings.ToUpper(uuid.NewString()), "00000000-0000-0000-0000-000000000000"}
	for _, fr := range fuzzRoutes(t) {
		all := append(append(openapi3.Parameters{}, fr.rt.kin.PathItem.Parameters...), fr.rt.kin.Operation.Parameters...)
		left := map[*openapi3.Parameter]bool{}
		for _, ps := range []openapi3.Parameters{fr.rt.check.PathItem.Parameters, fr.rt.check.Operation.Parameters} {
			for _, p := range ps {
				left[p.Value] = true
			}
		}
		for _, p := range all {
			name := fr.method + " " + fr.path + " " + p.Value.In + " " + p.Value.Name
			if p.Value.In != openapi3.ParameterInPath {
				if !left[p.Value] {
					t.Errorf("%s: left out of validation", name)
				}
				continue
			}
			if left[p.Value] {
				t.Errorf("%s: still validated by kin-openapi; checkPathIDs already holds it to its schema", name)
				continue
			}
			for _, id := range ids {
				if !isUUID(id) {
					t.Fatalf("isUUID(%q) = false", id)
				}
				if err := p.Value.Schema.Value.VisitJSON(id); err != nil {
					t.Errorf("%s: %q passes isUUID but not the schema: %v", name, id, err)
				}
			}
		}
		if hasPathParam(fr.rt.check) {
			t.Errorf("%s %s: a path parameter is still validated twice", fr.method, fr.path)
		}
	}
	maxLen := uint64(36)
	for _, tc := range []struct {
		name string
		p    openapi3.Parameter
		want bool
	}{
		{"uuid", openapi3.Parameter{In: "path", Required: true, Schema: openapi3.NewSchemaRef("", &openapi3.Schema{Type: &openapi3.Types{"string"}, Format: "uuid", MaxLength: &maxLen})}, true},
		{"pattern", openapi3.Parameter{In: "path", Required: true, Schema: openapi3.NewSchemaRef("", &openapi3.Schema{Type: &openapi3.Types{"string"}, Format: "uuid", Pattern: "^[a-f0-9-]+$"})}, false},
		{"enum", openapi3.Parameter{In: "path", Required: true, Schema: openapi3.NewSchemaRef("", &openapi3.Schema{Type: &openapi3.Types{"string"}, Format: "uuid", Enum: []any{"x"}})}, false},
		{"shorter", openapi3.Parameter{In: "path", Required: true, Schema: openapi3.NewSchemaRef("", &openapi3.Schema{Type: &openapi3.Types{"string"}, Format: "uuid", MaxLength: ptrTo(uint64(20))})}, false},
		{"integer", openapi3.Parameter{In: "path", Required: true, Schema: openapi3.NewSchemaRef("", &openapi3.Schema{Type: &openapi3.Types{"integer"}})}, false},
		{"no format", openapi3.Parameter{In: "path", Required: true, Schema: openapi3.NewSchemaRef("", &openapi3.Schema{Type: &openapi3.Types{"string"}})}, false},
		{"query", openapi3.Parameter{In: "query", Required: true, Schema: openapi3.NewSchemaRef("", &openapi3.Schema{Type: &openapi3.Types{"string"}, Format: "uuid"})}, false},
	} {
		if got := pathChecked(&tc.p); got != tc.want {
			t.Errorf("pathChecked(%s) = %v, want %v", tc.name, got, tc.want)
		}
	}
}
