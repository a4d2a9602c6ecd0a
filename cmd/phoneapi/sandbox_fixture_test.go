package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/phoneapi/phoneapi/db"
	"github.com/phoneapi/phoneapi/handlers/phonenum"
)

var updateFixture = flag.Bool("update-fixture", false, "rewrite sandbox/fixture.jsonl from writeDefaultFixture")

// writeDefaultFixture builds the built-in sandbox fixture through the
// store's API, as the handlers would (numbers parsed by phonenum, region
// US), with fixed ids and a clock from 2025-01-01 stepping a second per
// write, and returns its export: two users with an account list each,
// contacts, people (one with several numbers), phones (primaries, a
// historic one, numbers with other calling codes) and one deletion
// tombstone. No settings: the sandbox's secret is --jwt-secret's or
// generated.
func writeDefaultFixture(t *testing.T) []byte {
	t.Helper()
	ctx := context.Background()
	s, err := db.OpenSQLite(ctx, filepath.Join(t.TempDir(), "fixture.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 1, 1, 9, 0, 0, 0, time.UTC)
	s.SetClock(func() time.Time { now = now.Add(time.Second); return now })
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	id := func(prefix string, n int) string { return fmt.Sprintf("%s-0000-4000-8000-%012d", prefix, n) }
	contact, person, phone := 0, 0, 0
	newContact := func(al, name string) db.Scope {
		contact++
		c, err := s.CreateContact(ctx, db.Contact{ID: id("c0000000", contact), AccountListID: al, Name: name})
		must(err)
		return db.Scope{AccountListID: al, ContactID: c.ID}
	}
	newPerson := func(sc db.Scope, first string, last *string) db.Scope {
		person++
		p, err := s.CreatePerson(ctx, sc, db.Person{ID: id("e0000000", person), FirstName: first, LastName: last})
		must(err)
		return db.Scope{AccountListID: sc.AccountListID, ContactID: sc.ContactID, PersonID: p.ID}
	}
	newPhone := func(sc db.Scope, number, location string, primary, historic bool) string {
		phone++
		n, err := phonenum.Parse(number, "US")
		must(err)
		np := db.NewPhone{ID: id("f0000000", phone), Number: n.E164, CountryCode: &n.CountryCode,
			Primary: primary, Historic: historic}
		if location != "" {
			np.Location = &location
		}
		p, err := s.CreatePhone(ctx, sc, np)
		must(err)
		return p.ID
	}
	last := func(s string) *string { return &s }

	const user1, user2 = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
	al1, err := s.EnsureUser(ctx, user1)
	must(err)
	al2, err := s.EnsureUser(ctx, user2)
	must(err)

	smiths := newContact(al1, "Smith family")
	jane := newPerson(smiths, "Jane", last("Smith"))
	newPhone(jane, "(202) 555-0101", "mobile", true, false)
	newPhone(jane, "202-555-0102", "home", false, false)
	old := newPhone(jane, "202-555-0103", "work", false, false)
	must(s.DeletePhone(ctx, jane, old, nil)) // a tombstone
	john := newPerson(smiths, "John", last("Smith"))
	newPhone(john, "+44 20 7946 0000", "work", true, false)
	jones := newContact(al1, "Alex Jones")
	alex := newPerson(jones, "Alex", last("Jones"))
	newPhone(alex, "+1 415 555 0111", "mobile", true, false)
	newPhone(alex, "415-555-0112", "", false, true)
	acme := newContact(al1, "Acme Ltd")
	newPerson(acme, "Reception", nil)

	garcias := newContact(al2, "García")
	maria := newPerson(garcias, "María", last("García"))
	newPhone(maria, "+34 612 34 56 78", "mobile", true, false)
	newPhone(maria, "312-555-0120", "home", false, false)
	luis := newPerson(garcias, "Luis", last("García"))
	newPhone(luis, "+49 30 901820", "work", true, false)

	var buf bytes.Buffer
	_, err = s.Export(ctx, &buf, nil)
	must(err)
	// The ids of the account lists (EnsureUser) and of the tombstone are
	// random: fix them, and put the lines back in key order.
	var del struct{ ID string }
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	for _, l := range lines {
		if strings.HasPrefix(l, `{"type":"deleted_records"`) {
			must(json.Unmarshal([]byte(l), &del))
		}
	}
	fix := strings.NewReplacer(al1, id("a0000000", 1), al2, id("a0000000", 2), del.ID, id("d0000000", 1))
	for i := range lines {
		lines[i] = fix.Replace(lines[i])
	}
	tables := db.ExportTables()
	rank := func(l string) int {
		for i, t := range tables {
			if strings.HasPrefix(l, `{"type":"`+t+`"`) {
				return i
			}
		}
		return -1
	}
	rows := lines[1:]
	sort.SliceStable(rows, func(i, j int) bool {
		if ri, rj := rank(rows[i]), rank(rows[j]); ri != rj {
			return ri < rj
		}
		return rows[i] < rows[j]
	})
	return []byte(strings.Join(lines, "\n") + "\n")
}

// TestDefaultFixture: the built-in fixture is what writeDefaultFixture
// generates (go test ./cmd/phoneapi -run TestDefaultFixture
// -update-fixture rewrites it), and reads as a fixture of two users.
func TestDefaultFixture(t *testing.T) {
	want := writeDefaultFixture(t)
	path := filepath.Join("sandbox", "fixture.jsonl")
	if *updateFixture {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(defaultFixture, want) {
		t.Fatalf("%s is not what writeDefaultFixture generates; run with -update-fixture\ngot:\n%s\nwant:\n%s", path, defaultFixture, want)
	}
	f, err := db.ReadFixture(bytes.NewReader(defaultFixture))
	if err != nil {
		t.Fatal(err)
	}
	users := f.Users()
	if len(users) != 2 || users[0].Contacts != 3 || users[0].People != 4 || users[0].Phones != 5 ||
		users[1].Contacts != 1 || users[1].People != 2 || users[1].Phones != 3 {
		t.Errorf("users %+v", users)
	}
	if _, ok := f.Setting(secretKey); ok {
		t.Error("the built-in fixture holds a JWT secret")
	}
}
