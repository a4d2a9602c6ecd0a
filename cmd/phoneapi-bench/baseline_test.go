package main

import (
	"bytes"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestBaselineDocuments checks that the comparison is fair: for the same
// seeded rows (the baseline's file is a copy of phoneapi's), the baseline
// answers every operation the tool compares with phoneapi's document. The
// reads must be byte for byte the same, ETag included; the writes, whose
// ids and times differ, within 10 % in size. It logs every size.
//
// User 0 has two people with 30 phones each (list: a full first page of
// 25 and its total counted, a second page of 5); user 1 has 520 people
// with 2 phones each (people-include: a full first page of 500 and its
// total counted, a second page of 20).
func TestBaselineDocuments(t *testing.T) {
	dir := t.TempDir()
	bin := buildPhoneapi(t, dir)
	ctx := t.Context()
	apiDB, baseDB := filepath.Join(dir, "phoneapi.db"), filepath.Join(dir, "baseline.db")
	secret := randomHex(32)
	ids := []string{uuid.NewString(), uuid.NewString()}
	for i, shape := range [][3]int{{2, 1, 30}, {260, 2, 2}} { // contacts, people per contact, phones per person
		if _, err := run(ctx, bin, "seed", "--db", apiDB, "--user", ids[i], "--contacts", fmt.Sprint(shape[0]),
			"--people-per-contact", fmt.Sprint(shape[1]), "--phones-per-person", fmt.Sprint(shape[2])); err != nil {
			t.Fatal(err)
		}
	}
	f, err := loadFixture(ctx, apiDB, ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range f.users {
		if u.token, err = run(ctx, bin, "token", "--jwt-secret", secret, "--user", u.id, "--ttl", "1h"); err != nil {
			t.Fatal(err)
		}
	}
	if err := copySQLite(apiDB, baseDB); err != nil {
		t.Fatal(err)
	}
	srv, err := startServer(bin, filepath.Join(dir, "server.log"), apiDB, secret, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	if err := srv.WaitReady(srv.URL+"/api/v2/contacts", f.users[0].token, 30*time.Second); err != nil {
		t.Fatalf("%v (see %s)", err, srv.Log)
	}
	b, err := startBaselineProc(baseDB, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Stop()
	api := newTarget("phoneapi", []string{srv.URL}, nil, 2, f)
	base := newTarget("baseline", []string{b.base}, nil, 2, f)

	u0, u1 := f.users[0], f.users[1]
	if u1.peopleCount != 520 {
		t.Fatalf("user 1 has %d people, want 520", u1.peopleCount)
	}
	phone := u0.phones[0]
	person := u0.people[0]
	type request struct {
		name, method, path string
		user               int // client, and so user, that sends it
		body               []byte
		hdr                map[string]string
		status             int
		same               bool // byte for byte (reads of the same rows)
	}
	ok := http.StatusOK
	reqs := []request{
		{name: "get", method: "GET", path: phone.path(), status: ok, same: true},
		{name: "list (page 1 of 2, counted)", method: "GET", path: person.personPath(), status: ok, same: true},
		{name: "list (page 2 of 2)", method: "GET", path: person.personPath() + "?page=2", status: ok, same: true},
		{name: "list (user 1: 2 phones)", method: "GET", path: u1.people[0].personPath(), user: 1, status: ok, same: true},
	}
	for _, op := range []string{opPeopleInclude, opPeopleIncludeFields} {
		for page := 1; page <= 2; page++ {
			reqs = append(reqs, request{name: fmt.Sprintf("%s (page %d of 2)", op, page), method: "GET",
				path: peopleIncludePath(op, page), user: 1, status: ok, same: true})
		}
	}
	// The workload's own requests of each read operation.
	for _, op := range []string{"get", "list"} {
		reqs = append(reqs, request{name: op + " (workload)", method: "GET", path: readPath(op, api.clients[0]), status: ok, same: true})
	}
	for _, op := range []string{opPeopleInclude, opPeopleIncludeFields} {
		reqs = append(reqs, request{name: op + " (workload)", method: "GET", path: readPath(op, api.clients[1]), user: 1, status: ok, same: true})
	}
	// The writes, as the workload sends them; the ETag of update is each
	// server's own (fetched below).
	updated := u0.phones[1]
	reqs = append(reqs,
		request{name: "create", method: "POST", path: person.personPath(), status: http.StatusCreated,
			body: phoneDoc("", map[string]any{"number": "+16175551234", "location": "mobile"})},
		request{name: "update", method: "PUT", path: updated.path(), status: ok,
			body: phoneDoc("", map[string]any{"location": "home"}), hdr: map[string]string{"If-Match": ""}},
		request{name: "patch", method: "PATCH", path: updated.path(), status: ok,
			body: phoneDoc(updated.id, map[string]any{"location": patchLocation(1), "overwrite": true})},
		request{name: "delete", method: "DELETE", path: u0.phones[2].path(), status: http.StatusNoContent},
	)
	for _, r := range reqs {
		var bodies [2][]byte
		var etags [2]string
		for i, tg := range []*target{api, base} {
			c := tg.clients[r.user]
			hdr := r.hdr
			if _, ok := hdr["If-Match"]; ok {
				resp, _, err := tg.do(ctx, c, "GET", r.path, nil, nil, http.StatusOK)
				if err != nil {
					t.Fatalf("%s: %s: fetch etag: %v", r.name, tg.name, err)
				}
				hdr = map[string]string{"If-Match": resp.Header.Get("ETag")}
			}
			resp, body, err := tg.do(ctx, c, r.method, r.path, r.body, hdr, r.status)
			if err != nil {
				t.Fatalf("%s: %s: %v", r.name, tg.name, err)
			}
			bodies[i], etags[i] = body, resp.Header.Get("ETag")
		}
		a, bs := len(bodies[0]), len(bodies[1])
		t.Logf("%-40s phoneapi %7d bytes, baseline %7d bytes (%+.2f %%)", r.name, a, bs, pct(bs, a))
		if d := pct(bs, a); d > 10 || d < -10 {
			t.Errorf("%s: baseline's body is %d bytes, phoneapi's %d: %+.1f %%, want within 10 %%", r.name, bs, a, d)
		}
		if !r.same {
			continue
		}
		if !bytes.Equal(bodies[0], bodies[1]) {
			i := 0
			for i < min(a, bs) && bodies[0][i] == bodies[1][i] {
				i++
			}
			from := max(i-80, 0)
			t.Errorf("%s: the bodies differ at byte %d:\nphoneapi: …%s\nbaseline: …%s", r.name, i,
				bodies[0][from:min(i+80, a)], bodies[1][from:min(i+80, bs)])
		}
		if etags[0] != etags[1] {
			t.Errorf("%s: ETag %q from phoneapi, %q from the baseline", r.name, etags[0], etags[1])
		}
	}
}

// pct is how much larger b is than a, in percent (0 when both are empty).
func pct(b, a int) float64 {
	if a == 0 {
		if b == 0 {
			return 0
		}
		return 100
	}
	return 100 * float64(b-a) / float64(a)
}
