package db

import (
	"errors"
	"strings"
	"testing"
)

func TestInvalidTextRefused(t *testing.T) { forEachBackend(t, testInvalidTextRefused) }

// testInvalidTextRefused: every write of a resource refuses text holding
// U+0000 (which PostgreSQL cannot store) or invalid UTF-8, alike on both
// engines, with a *TextError naming the column; nothing is written. Any
// other statement with such a text argument (a future path) is refused
// too, before it runs.
func testInvalidTextRefused(t *testing.T) {
	ctx := t.Context()
	f := newFamily(t)
	s := f.s
	before := snapshot(t, s)
	const nul, bad = "a\x00b", "a\xffb"
	pc, pp := f.in(f.p1), contactScope(f.c)
	phone := f.phones["a"].ID
	for _, tt := range []struct {
		name, table, column, reason string
		write                       func() error
	}{
		{"create contact", "contacts", "name", "U+0000", func() error {
			return errOf(s.CreateContact(ctx, Contact{AccountListID: f.al, Name: nul}))
		}},
		{"update contact", "contacts", "name", "UTF-8", func() error {
			return errOf(s.UpdateContact(ctx, f.al, f.c.ID, ContactUpdate{Name: ptr(bad)}, nil))
		}},
		{"create person", "people", "last_name", "U+0000", func() error {
			return errOf(s.CreatePerson(ctx, pp, Person{FirstName: "x", LastName: ptr(nul)}))
		}},
		{"update person", "people", "first_name", "UTF-8", func() error {
			return errOf(s.UpdatePerson(ctx, pp, f.p1.ID, PersonUpdate{FirstName: ptr(bad)}, nil))
		}},
		{"create phone", "phones", "location", "U+0000", func() error {
			return errOf(s.CreatePhone(ctx, pc, NewPhone{Number: "1", Location: ptr(nul)}))
		}},
		{"create phone source", "phones", "source", "UTF-8", func() error {
			return errOf(s.CreatePhone(ctx, pc, NewPhone{Number: "1", Source: bad}))
		}},
		{"update phone", "phones", "location", "U+0000", func() error {
			return errOf(s.UpdatePhone(ctx, pc, phone, PhoneUpdate{Location: Patch[string]{Set: true, Value: ptr(nul)}}, nil))
		}},
		{"update phone number", "phones", "number", "UTF-8", func() error {
			return errOf(s.UpdatePhone(ctx, pc, phone, PhoneUpdate{Number: ptr(bad)}, nil))
		}},
		{"update phone country code", "phones", "country_code", "U+0000", func() error {
			return errOf(s.UpdatePhone(ctx, pc, phone, PhoneUpdate{CountryCode: Patch[string]{Set: true, Value: ptr(nul)}}, nil))
		}},
		{"setting", "", "", "U+0000", func() error {
			return errOf(s.InitSetting(ctx, "k", nul))
		}},
		{"any statement", "", "", "UTF-8", func() error {
			return errOf(s.pool().ExecContext(ctx, `UPDATE contacts SET name = ? WHERE id = ?`, bad, f.c.ID))
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.write()
			var te *TextError
			if !errors.Is(err, ErrInvalidText) || !errors.As(err, &te) {
				t.Fatalf("err = %v, want a *TextError", err)
			}
			if te.Table != tt.table || te.Column != tt.column || !strings.Contains(te.Reason, tt.reason) {
				t.Errorf("TextError %+v, want table %q, column %q, reason with %q", te, tt.table, tt.column, tt.reason)
			}
			t.Log(err)
		})
	}
	if after := snapshot(t, s); after != before {
		t.Errorf("refused writes changed the database:\nbefore %s\nafter  %s", before, after)
	}
	// Valid text that looks close is stored as sent.
	odd := "\uFFFD \U0001F600 \\u0000 \u2028"
	c := mustContact(t, s, Contact{AccountListID: f.al, Name: odd})
	got, err := contact(ctx, s.reader(), c.ID)
	if err != nil || got.Name != odd {
		t.Errorf("stored %q (%v), want %q", got.Name, err, odd)
	}
}

func TestInsertRowsNamesTheBadText(t *testing.T) { forEachBackend(t, testInsertRowsNamesTheBadText) }

// testInsertRowsNamesTheBadText: the multi-row inserts of seed and import
// refuse bad text before any statement, naming table, column and row.
func testInsertRowsNamesTheBadText(t *testing.T) {
	ctx := t.Context()
	s := openStore(t)
	al := newAccountList(t, s)
	r := &rows{width: 6}
	r.add("c1", al, "fine", int64(1), int64(1), int64(1))
	r.add("c2", al, "bad\x00", int64(1), int64(1), int64(1))
	err := s.inTx(ctx, func(tx conn) error { return insertRows(ctx, tx, "contacts", contactColumns, r) })
	var te *TextError
	if !errors.As(err, &te) || te.Table != "contacts" || te.Column != "name" || te.ID != "c2" {
		t.Fatalf("err = %v (%+v), want a TextError for contacts.name of c2", err, te)
	}
	if !strings.Contains(err.Error(), `contacts.name of "c2": text contains U+0000`) {
		t.Errorf("message %q", err)
	}
	wantCount(t, s, 0, `SELECT COUNT(*) FROM contacts`)
}
