package db

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// The store's hot paths, on a SQLite file of 1,000 contacts × 2 people × 3
// phones (synchronous=FULL, the default): what one request of each kind
// costs the database layer. Run with
//
//	go test -run '^$' -bench . -benchmem ./db

// benchStore is a seeded store and one phone of it.
type benchStore struct {
	s     *Store
	sc    Scope // the path to the phone's person
	phone Phone
}

func newBenchStore(b *testing.B) benchStore {
	b.Helper()
	ctx := context.Background()
	s, err := OpenSQLite(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	al, err := s.EnsureUser(ctx, "00000000-0000-4000-8000-00000000be7c")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.Seed(ctx, SeedOptions{AccountListID: al, Contacts: 1000, PeoplePerContact: 2, PhonesPerPerson: 3}); err != nil {
		b.Fatal(err)
	}
	cs, _, err := s.ListContacts(ctx, al, ListQuery{Limit: 1, Offset: 500})
	if err != nil || len(cs) == 0 {
		b.Fatalf("no contact: %v", err)
	}
	ps, _, err := s.ListPeople(ctx, Scope{AccountListID: al, ContactID: cs[0].ID}, ListQuery{Limit: 1})
	if err != nil || len(ps) == 0 {
		b.Fatalf("no person: %v", err)
	}
	sc := Scope{AccountListID: al, ContactID: cs[0].ID, PersonID: ps[0].ID}
	phones, _, err := s.ListPhones(ctx, sc, ListQuery{})
	if err != nil || len(phones) == 0 {
		b.Fatalf("no phone: %v", err)
	}
	return benchStore{s: s, sc: sc, phone: phones[0]}
}

func BenchmarkStore(b *testing.B) {
	bs := newBenchStore(b)
	ctx := context.Background()
	b.Run("Phone", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := bs.s.Phone(ctx, bs.sc, bs.phone.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ListPhones", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if list, _, err := bs.s.ListPhones(ctx, bs.sc, ListQuery{Limit: 25}); err != nil || len(list) == 0 {
				b.Fatal(list, err)
			}
		}
	})
	b.Run("CheckScope", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := bs.s.CheckScope(ctx, bs.sc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("UpdatePhone", func(b *testing.B) {
		b.ReportAllocs()
		loc := "work"
		for b.Loop() {
			now := time.Now()
			if _, err := bs.s.UpdatePhone(ctx, bs.sc, bs.phone.ID, PhoneUpdate{Location: Patch[string]{Set: true, Value: &loc}, UpdatedAt: &now}, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}
