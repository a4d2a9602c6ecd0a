package db

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"testing"
)

// BenchmarkRestore restores a fixture of 1,000 resources (2 users, each
// with 50 contacts × 3 people × 2 phones: 100 contacts, 300 people, 600
// phones) over the same data changed a little, as `phoneapi sandbox`'s
// POST /sandbox/reset does between tests: the target is < 100 ms. On
// SQLite with synchronous=normal, as the sandbox runs, and FULL; on
// PostgreSQL when PHONEAPI_TEST_POSTGRES_URL is set.
func BenchmarkRestore(b *testing.B) {
	ctx := context.Background()
	sqlite := func(b *testing.B) string { return filepath.Join(b.TempDir(), "bench.db") }
	for _, e := range []struct {
		name, sync string
		dsn        func(b *testing.B) string
	}{
		{"sqlite-normal", "normal", sqlite},
		{"sqlite-full", "full", sqlite},
		{"postgres", "", func(b *testing.B) string {
			if pgTestURL == "" {
				b.Skip(pgSkipMessage)
			}
			schema := fmt.Sprintf("bench%d", pgSchemas.Add(1))
			if _, err := pgAdmin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { pgAdmin.ExecContext(context.Background(), `DROP SCHEMA `+schema+` CASCADE`) })
			u, _ := url.Parse(pgTestURL)
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			return u.String()
		}},
	} {
		b.Run(e.name, func(b *testing.B) {
			s, err := OpenWith(ctx, e.dsn(b), PGOptions{}, SQLiteOptions{Synchronous: e.sync})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			if err := s.Migrate(ctx); err != nil {
				b.Fatal(err)
			}
			for _, u := range []string{"00000000-0000-4000-8000-0000000000a1", "00000000-0000-4000-8000-0000000000a2"} {
				al, err := s.EnsureUser(ctx, u)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := s.Seed(ctx, SeedOptions{AccountListID: al, Contacts: 50, PeoplePerContact: 3, PhonesPerPerson: 2}); err != nil {
					b.Fatal(err)
				}
			}
			var export bytes.Buffer
			if _, err := s.Export(ctx, &export, nil); err != nil {
				b.Fatal(err)
			}
			f, err := ReadFixture(&export)
			if err != nil {
				b.Fatal(err)
			}
			if n := f.Tables()["contacts"] + f.Tables()["people"] + f.Tables()["phones"]; n != 1000 {
				b.Fatalf("fixture of %d resources, want 1000", n)
			}
			b.ReportAllocs()
			for b.Loop() {
				// What a test between resets does: a new user and contact.
				b.StopTimer()
				al, err := s.EnsureUser(ctx, "00000000-0000-4000-8000-0000000000a3")
				if err != nil {
					b.Fatal(err)
				}
				if _, err := s.CreateContact(ctx, Contact{AccountListID: al, Name: "test"}); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, err := s.Restore(ctx, f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
