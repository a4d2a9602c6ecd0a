package handlers

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/phoneapi/phoneapi/db"
)

// benchUser owns the seeded benchmark databases (make bench-data uses it too).
const benchUser = "00000000-0000-4000-8000-00000000be7c"

// benchShapes are the benchmark databases: contacts × 2 people × 5 phones.
var benchShapes = []struct {
	name     string
	contacts int
}{
	{"1k", 100},     // 1,000 phones
	{"1M", 100_000}, // 1,000,000 phones
}

// benchDir is where seeded databases are cached between runs:
// $PHONEAPI_BENCH_DIR, else phoneapi-bench in the temp directory.
func benchDir() string {
	if d := os.Getenv("PHONEAPI_BENCH_DIR"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "phoneapi-bench")
}

// benchTarget is one person's phones in a seeded database.
type benchTarget struct {
	e          *echo.Echo
	token      string
	phonesPath string // the person's phones collection
	phonePath  string // one of its phones
	since      string // a filter[updated_in_db_at] lower bound matching some of its phones
}

// openBench opens (building on first use) the seeded database with the
// given number of contacts and picks a person in the middle of it.
func openBench(b *testing.B, contacts int) benchTarget {
	b.Helper()
	ctx := context.Background()
	path := filepath.Join(benchDir(), fmt.Sprintf("phones-%d.db", contacts*10))
	if _, err := os.Stat(path); err != nil {
		buildBenchDB(b, path, contacts)
	}
	store := openStore(b, path)
	accountList, err := store.EnsureUser(ctx, benchUser)
	if err != nil {
		b.Fatal(err)
	}
	cs, _, err := store.ListContacts(ctx, accountList, db.ListQuery{Limit: 1, Offset: contacts / 2})
	if err != nil || len(cs) == 0 {
		b.Fatalf("no contact to benchmark: %v", err)
	}
	ps, _, err := store.ListPeople(ctx, db.Scope{AccountListID: accountList, ContactID: cs[0].ID}, db.ListQuery{Limit: 1})
	if err != nil || len(ps) == 0 {
		b.Fatalf("no person to benchmark: %v", err)
	}
	phones, _, err := store.ListPhones(ctx, db.Scope{AccountListID: accountList, ContactID: cs[0].ID, PersonID: ps[0].ID}, db.ListQuery{})
	if err != nil || len(phones) < 2 {
		b.Fatalf("no phones to benchmark: %v", err)
	}
	e, err := New(store, Config{Secret: testSecret, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	tok, err := IssueToken(testSecret, benchUser, time.Hour, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	phonesPath := "/api/v2/contacts/" + cs[0].ID + "/people/" + ps[0].ID + "/phones"
	return benchTarget{
		e:          e,
		token:      tok,
		phonesPath: phonesPath,
		phonePath:  phonesPath + "/" + phones[0].ID,
		since:      formatTime(phones[len(phones)/2].UpdatedInDBAt),
	}
}

// buildBenchDB seeds a database at path with the seed code, writing to a
// temporary file first so that an interrupted build is never used.
func buildBenchDB(b *testing.B, path string, contacts int) {
	b.Helper()
	ctx := context.Background()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.Fatal(err)
	}
	tmp := path + ".building"
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(tmp + suffix)
	}
	store, err := db.Open(ctx, tmp)
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	accountList, err := store.EnsureUser(ctx, benchUser)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	res, err := store.Seed(ctx, db.SeedOptions{AccountListID: accountList, Contacts: contacts, PeoplePerContact: 2, PhonesPerPerson: 5})
	if err != nil {
		b.Fatal(err)
	}
	if err := store.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d phones into %s in %s", res.Phones, path, time.Since(start).Round(time.Millisecond))
}

// serve runs one request through the Echo stack and fails unless it gets want.
func (t benchTarget) serve(b *testing.B, path string, want int) {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	r.Header.Set("Authorization", "Bearer "+t.token)
	w := httptest.NewRecorder()
	t.e.ServeHTTP(w, r)
	if w.Code != want {
		b.Fatalf("GET %s: status %d, want %d: %s", path, w.Code, want, w.Body)
	}
}

// BenchmarkReads measures the sync and list hot paths on a 1,000-phone and
// a 1,000,000-phone database: per-person work must not grow with the
// database. Run with `make bench`; the 1M database is built once (about a
// minute at most) and cached in benchDir().
func BenchmarkReads(b *testing.B) {
	for _, shape := range benchShapes {
		if shape.contacts > 1000 && testing.Short() {
			continue
		}
		t := openBench(b, shape.contacts)
		cases := []struct{ name, path string }{
			{"ListPhones", t.phonesPath + "?page=1&per_page=25"},
			{"GetPhone", t.phonePath},
			{"ListPhonesUpdatedSince", t.phonesPath + "?filter[updated_in_db_at]=" + url.QueryEscape(t.since+"..")},
			// The contact-less people list at its largest page, plain and
			// with every person's phones (500 people, 2,500 phones).
			{"AccountPeople500", "/api/v2/contacts/people?per_page=500"},
			{"AccountPeople500IncludePhones", "/api/v2/contacts/people?per_page=500&include=phone_numbers"},
			// The same document on both databases (the 1k one has 200
			// people): 200 people and their 1,000 phones.
			{"AccountPeople200IncludePhones", "/api/v2/contacts/people?per_page=200&include=phone_numbers"},
		}
		for _, c := range cases {
			b.Run(c.name+"/"+shape.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					t.serve(b, c.path, http.StatusOK)
				}
			})
		}
	}
}
