package handlers

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
)

// Paging links repeat the parameters of the operation that the request
// gave (sort, filters, fields, include) and nothing else: not an
// undeclared parameter, not access_token. Each list operation builds them
// from its generated params.
func TestListLinksRepeatDeclaredParams(t *testing.T) {
	a := newAPI(t)
	tr := a.tree()
	for _, tc := range []struct{ path, declared string }{
		{"/api/v2/contacts", "sort=-name&filter[updated_at]=2020-01-01..&fields[contacts]=name&include=people"},
		{tr.contactPath() + "/people", "sort=last_name&filter[updated_in_db_at]=2020-01-01..&fields[people]=first_name"},
		{tr.phonesPath(), "sort=-updated_at&filter[primary]=true&filter[location]=home&fields[phone_numbers]=number"},
		{"/api/v2/deleted_records", "sort=-deleted_at&filter[types]=phone_numbers&fields[deleted_records]=deletable_id"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			r := a.do(req{Method: http.MethodGet, Path: tc.path + "?" + tc.declared + "&unknown=1&per_page=7", Token: tr.tok})
			if r.Code != http.StatusOK {
				t.Fatalf("status %d\n%s", r.Code, r.Raw)
			}
			var doc struct {
				Links map[string]string `json:"links"`
			}
			if err := json.Unmarshal(r.Raw, &doc); err != nil {
				t.Fatal(err)
			}
			want, _ := url.ParseQuery(tc.declared)
			want.Set("page", "1")
			want.Set("per_page", "7")
			self, err := url.Parse(doc.Links["self"])
			if err != nil {
				t.Fatalf("self %q: %v", doc.Links["self"], err)
			}
			if self.Path != tc.path {
				t.Errorf("self path %q, want %q", self.Path, tc.path)
			}
			if got := self.Query().Encode(); got != want.Encode() {
				t.Errorf("self query\n got %s\nwant %s", got, want.Encode())
			}
		})
	}
	// A token given as access_token is never written into a link.
	r := a.do(req{Method: http.MethodGet, Path: "/api/v2/contacts?access_token=" + url.QueryEscape(tr.tok)})
	if r.Code != http.StatusOK {
		t.Fatalf("access_token: status %d\n%s", r.Code, r.Raw)
	}
	var doc struct {
		Links map[string]string `json:"links"`
	}
	if err := json.Unmarshal(r.Raw, &doc); err != nil {
		t.Fatal(err)
	}
	for name, link := range doc.Links {
		if u, _ := url.Parse(link); u == nil || u.Query().Has("access_token") {
			t.Errorf("links.%s = %q repeats the token", name, link)
		}
	}
}
