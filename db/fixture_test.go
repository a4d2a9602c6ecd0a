package db

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"
)

// exportOf returns s's export without its header's exported_at.
func exportOf(t *testing.T, s *Store) string {
	t.Helper()
	var buf bytes.Buffer
	if _, err := s.Export(t.Context(), &buf, nil); err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(buf.String(), "\n")
	return rest
}

// TestRestore: Restore into a new database gives exactly the fixture's
// rows (the account lists' counters included), and after arbitrary writes
// (new users, contacts, people, phones, updates, deletes, idempotency
// keys) gives them again; the secret of the first Restore stays.
func TestRestore(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		ctx := t.Context()
		src := openStore(t)
		fillExportSource(t, src)
		var export bytes.Buffer
		if _, err := src.Export(ctx, &export, nil); err != nil {
			t.Fatal(err)
		}
		f, err := ReadFixture(bytes.NewReader(export.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		wantExport, wantTables := exportOf(t, src), dumpTables(t, src)

		s := openStore(t)
		res, err := s.Restore(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if got := exportOf(t, s); got != wantExport {
			t.Fatalf("after the first Restore, the export differs:\n%s\nwant\n%s", got, wantExport)
		}
		if !reflect.DeepEqual(dumpTables(t, s), wantTables) {
			t.Fatal("after the first Restore, the tables differ from the source's")
		}
		if res.Tables["contacts"] != f.Tables()["contacts"] || res.Tables["settings"] != 2 {
			t.Errorf("first Restore wrote %v", res.Tables)
		}

		// Arbitrary writes, then a changed secret: Restore must undo the
		// data, never touch the settings.
		al := ensureUser(t, s, "9e0a1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b")
		c := mustContact(t, s, Contact{AccountListID: al, Name: "new"})
		p := mustPerson(t, s, contactScope(c), Person{FirstName: "New"})
		mustPhone(t, s, personScope(c, p), NewPhone{Number: "+12025550111", Primary: true})
		users := f.Users()
		al1 := users[0].AccountListID
		contacts, _, err := s.ListContacts(ctx, al1, ListQuery{})
		if err != nil || len(contacts) == 0 {
			t.Fatalf("list: %v, %d", err, len(contacts))
		}
		if err := s.DeleteContact(ctx, al1, contacts[0].ID, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateContactOnce(ctx, Contact{AccountListID: al1, Name: "keyed"},
			&Key{UserID: users[0].ID, Key: "k1", Hash: "h", Pending: time.Minute}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.pool().ExecContext(ctx, `UPDATE settings SET value = 'changed' WHERE key = 'jwt_secret'`); err != nil {
			t.Fatal(err)
		}

		res2, err := s.Restore(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if res2.Tables["settings"] != 0 {
			t.Errorf("second Restore wrote %d settings, want 0", res2.Tables["settings"])
		}
		wantCount(t, s, 0, `SELECT COUNT(*) FROM idempotency_keys`)
		wantCount(t, s, 1, `SELECT COUNT(*) FROM settings WHERE key = 'jwt_secret' AND value = 'changed'`)
		if _, err := s.pool().ExecContext(ctx, `UPDATE settings SET value = '0123456789abcdef0123456789abcdef' WHERE key = 'jwt_secret'`); err != nil {
			t.Fatal(err)
		}
		if got := exportOf(t, s); got != wantExport {
			t.Fatalf("after writes and Restore, the export differs:\n%s\nwant\n%s", got, wantExport)
		}
		if !reflect.DeepEqual(dumpTables(t, s), wantTables) {
			t.Fatal("after writes and Restore, the tables (counters included) differ from the source's")
		}
	})
}

// TestRestoreBadRow: a row the database refuses fails Restore naming its
// line, and changes nothing.
func TestRestoreBadRow(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		const al = "0b7f0f8e-1111-4222-8333-000000000001"
		in := `{"type":"phoneapi-export","version":3,"counts":{"account_lists":1,"users":0,"settings":0,"contacts":1,"people":0,"phones":0,"deleted_records":0}}
{"type":"account_lists","id":"` + al + `","attributes":{"created_at":1,"hw":1}}
{"type":"contacts","id":"0b7f0f8e-1111-4222-8333-000000000002","attributes":{"account_list_id":"0b7f0f8e-1111-4222-8333-00000000dead","name":"x","created_at":1,"updated_at":1,"updated_in_db_at":1,"prev_updated_in_db_at":null}}
`
		f, err := ReadFixture(strings.NewReader(in))
		if err != nil {
			t.Fatal(err)
		}
		s := openStore(t)
		_, err = s.Restore(t.Context(), f)
		if err == nil || !strings.Contains(err.Error(), "line 3: contacts") || !strings.Contains(err.Error(), "does not exist") {
			t.Fatalf("Restore: %v, want line 3's missing parent", err)
		}
		wantCount(t, s, 0, `SELECT COUNT(*) FROM account_lists`)
	})
}

// TestReadFixtureErrors: a bad fixture is refused with the line and the
// reason, before any database is involved.
func TestReadFixtureErrors(t *testing.T) {
	const header = `{"type":"phoneapi-export","version":3,"counts":{"account_lists":1,"users":0,"settings":0,"contacts":0,"people":0,"phones":0,"deleted_records":0}}` + "\n"
	const al = `{"type":"account_lists","id":"a","attributes":{"created_at":1,"hw":1}}` + "\n"
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "", "empty input"},
		{"not an export", "{}\n", "line 1: not a phoneapi export"},
		{"bad JSON", header + "{\n", "line 2: invalid JSON"},
		{"missing attribute", header + `{"type":"account_lists","id":"a","attributes":{"created_at":1}}` + "\n", `line 2: account_lists a: missing attribute "hw"`},
		{"unknown type", header + `{"type":"nope","id":"a","attributes":{}}` + "\n", `line 2: unknown type "nope"`},
		{"too many rows", header + al + al, "line 3: more account_lists rows than the header's 1"},
		{"truncated", header, "incomplete export"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadFixture(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ReadFixture: %v, want %q", err, tc.want)
			}
		})
	}
	f, err := ReadFixture(strings.NewReader(header + al))
	if err != nil {
		t.Fatal(err)
	}
	if f.Tables()["account_lists"] != 1 || len(f.Users()) != 0 {
		t.Errorf("tables %v, users %v", f.Tables(), f.Users())
	}
}
