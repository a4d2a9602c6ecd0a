package handlers

import (
	"net/http"
	"strings"
	"testing"
)

func TestTreeSmoke(t *testing.T) {
	a := newAPI(t)
	tr := a.tree()
	r := a.do(req{Method: "GET", Path: tr.phonePath(), Token: tr.tok})
	r.want(t, http.StatusOK, "")
	if r.attrs()["number"] != "+16175551212" || r.attrs()["primary"] != true {
		t.Errorf("phone = %v", r.attrs())
	}
}

// TestLinksOmitAccessToken: a token sent as ?access_token= authenticates
// the request but is never echoed into the list's links.
func TestLinksOmitAccessToken(t *testing.T) {
	a := newAPI(t)
	tok := a.user()
	a.contact(tok)
	r := a.do(req{Method: "GET", Path: "/api/v2/contacts?per_page=1&access_token=" + tok})
	r.want(t, http.StatusOK, "")
	links, _ := r.Doc["links"].(map[string]any)
	if len(links) == 0 {
		t.Fatalf("no links in %s", r.Raw)
	}
	for name, v := range links {
		if s, _ := v.(string); strings.Contains(s, "access_token") || strings.Contains(s, tok) {
			t.Errorf("links.%s = %q echoes the token", name, s)
		}
	}
}
