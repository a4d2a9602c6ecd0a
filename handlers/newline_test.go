package handlers

import (
	"net/http"
	"strings"
	"testing"
)

// TestBodiesEndWithOneNewline: error documents end with exactly one newline,
// like success documents, so that outputs do not run together.
func TestBodiesEndWithOneNewline(t *testing.T) {
	a := newAPI(t)
	for _, tc := range []struct {
		name, target string
		status       int
	}{
		{"unauthenticated", "/api/v2/contacts", http.StatusUnauthorized},
		{"unknown route", "/api/v2/nope", http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := a.get(http.MethodGet, tc.target, nil)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			b := w.Body.String()
			if !strings.HasSuffix(b, "}\n") || strings.HasSuffix(b, "\n\n") {
				t.Errorf("body does not end with exactly one newline: %q", b)
			}
		})
	}
}
