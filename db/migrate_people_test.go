// Migration 0005: people carry their contact's account list
// (people.account_list_id), backfilled for the people stored before it and
// filled by a trigger for every person inserted after it.

package db

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/phoneapi/phoneapi/db/dbtest"
)

// columnExists reports whether the store's database has the column.
func columnExists(t *testing.T, s *Store, table, column string) bool {
	t.Helper()
	query := `SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?`
	if s.Engine() == "postgres" {
		query = `SELECT COUNT(*) FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = ? AND column_name = ?`
	}
	return count(t, s, query, table, column) == 1
}

// indexExists reports whether the store's database has the index.
func indexExists(t *testing.T, s *Store, name string) bool {
	t.Helper()
	query := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = ?`
	if s.Engine() == "postgres" {
		query = `SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname = ?`
	}
	return count(t, s, query, name) == 1
}

// checkPeopleAccountLists fails unless every person's account_list_id is
// its contact's, and returns each account list's people ids, sorted.
func checkPeopleAccountLists(t *testing.T, what string, s *Store) map[string][]string {
	t.Helper()
	wantCount(t, s, 0, `SELECT COUNT(*) FROM people WHERE account_list_id IS NULL`)
	wantCount(t, s, 0, `SELECT COUNT(*) FROM people p JOIN contacts c ON c.id = p.contact_id
		WHERE p.account_list_id <> c.account_list_id`)
	wantCount(t, s, count(t, s, `SELECT COUNT(*) FROM people`),
		`SELECT COUNT(*) FROM people p JOIN contacts c ON c.id = p.contact_id AND c.account_list_id = p.account_list_id`)
	out := map[string][]string{}
	for _, l := range lines(t, s.pool(), `SELECT account_list_id || ' ' || id FROM people ORDER BY account_list_id, id`) {
		al, id, _ := strings.Cut(l, " ")
		out[al] = append(out[al], id)
	}
	if t.Failed() {
		t.Fatalf("%s: people whose account_list_id is not their contact's", what)
	}
	return out
}

// accountPeopleIDs lists an account list's people with ListAccountPeople
// and returns their ids, sorted.
func accountPeopleIDs(t *testing.T, s *Store, al string) []string {
	t.Helper()
	people, total, err := s.ListAccountPeople(t.Context(), al, ListQuery{})
	if err != nil {
		t.Fatalf("ListAccountPeople %s: %v", al, err)
	}
	if total != len(people) {
		t.Fatalf("ListAccountPeople %s: total %d for %d people", al, total, len(people))
	}
	ids := []string{}
	for _, p := range people {
		ids = append(ids, p.ID)
	}
	slices.Sort(ids)
	return ids
}

// TestMigratePeopleAccountList brings a database to version 4, as an
// older binary would have, stores account lists, contacts and people with
// plain SQL, then runs Migrate: every person gets its contact's account
// list, the list indexes exist, and ListAccountPeople and PersonScope
// find the old people. People inserted afterwards get theirs from the
// trigger, however they are inserted: CreatePerson, plain SQL that does not
// name the column or names another account list, Seed, and Import into
// either engine.
func TestMigratePeopleAccountList(t *testing.T) { forEachBackend(t, testMigratePeopleAccountList) }

func testMigratePeopleAccountList(t *testing.T) {
	ctx := t.Context()
	engine := backendOf(t)
	upTo4 := migrationsBefore(t, engine, "_people_account_list.sql")
	if v, err := migrationVersion(upTo4[len(upTo4)-1]); err != nil || v != 4 {
		t.Fatalf("migrations before people_account_list: %v; want 0001 to 0004", upTo4)
	}
	s := openDB(t, newDB(t))
	clk := dbtest.NewClock(dbtest.Start)
	s.SetClock(clk.Now)
	applyMigrations(t, s, upTo4)
	if columnExists(t, s, "people", "account_list_id") {
		t.Fatal("people.account_list_id exists before migration 0005")
	}
	exec := func(query string, args ...any) {
		t.Helper()
		if _, err := s.pool().ExecContext(ctx, query, args...); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	}
	insertContact := func(al string) string {
		t.Helper()
		id := uuid.NewString()
		exec(`INSERT INTO contacts (id, account_list_id, name, created_at, updated_at, updated_in_db_at)
			VALUES (?, ?, 'c', 1, 1, 1)`, id, al)
		return id
	}
	insertPerson := func(contactID string) string {
		t.Helper()
		id := uuid.NewString()
		exec(`INSERT INTO people (id, contact_id, first_name, last_name, created_at, updated_at, updated_in_db_at)
			VALUES (?, ?, 'p', NULL, 1, 1, 1)`, id, contactID)
		return id
	}

	// Before 0005: account list A with three contacts (one without people),
	// B with one, and C with a contact and no people; five people in all.
	base := nowMS(clk).UnixMilli()
	alA, cA1 := insertOldRows(t, s, oldStamps{base, base, base, base})
	alB, cB := insertOldRows(t, s, oldStamps{base, base, base, base})
	alC := uuid.NewString()
	exec(`INSERT INTO account_lists (id, created_at) VALUES (?, ?)`, alC, base)
	insertContact(alC)
	cA2 := insertContact(alA)
	insertContact(alA)
	insertPerson(cA2)
	insertPerson(cA2)
	insertPerson(cB)
	oldPerson := insertPerson(cA1)
	wantCount(t, s, 6, `SELECT COUNT(*) FROM people`)

	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	wantCount(t, s, len(migrationFiles(t, engine)), `SELECT COUNT(*) FROM schema_migrations`)
	if !columnExists(t, s, "people", "account_list_id") {
		t.Fatal("no people.account_list_id after Migrate")
	}
	for sort := range accountPeopleList.sorts {
		if name := "people_account_list_id_" + sort + "_id_idx"; !indexExists(t, s, name) {
			t.Errorf("no index %s for the sort %s", name, sort)
		}
	}
	byAL := checkPeopleAccountLists(t, "backfilled", s)
	if len(byAL[alA]) != 4 || len(byAL[alB]) != 2 || len(byAL[alC]) != 0 || len(byAL) != 2 {
		t.Fatalf("backfilled people per account list: %v; want 4 in A, 2 in B", byAL)
	}
	for _, al := range []string{alA, alB, alC} {
		if got := accountPeopleIDs(t, s, al); !slices.Equal(got, byAL[al]) {
			t.Errorf("account list %s: ListAccountPeople %v, want %v", al, got, byAL[al])
		}
	}
	if sc, err := s.PersonScope(ctx, alA, oldPerson); err != nil || sc != (Scope{AccountListID: alA, ContactID: cA1}) {
		t.Errorf("PersonScope of a backfilled person = %+v, %v", sc, err)
	}
	wantErr(t, errOf(s.PersonScope(ctx, alB, oldPerson)), ErrForbidden)

	// After 0005, through the store and plain SQL, the trigger fills it.
	clk.Add(time.Second)
	created := mustPerson(t, s, Scope{AccountListID: alA, ContactID: cA1}, Person{FirstName: "new"})
	plain := insertPerson(cB)
	wrong := uuid.NewString()
	exec(`INSERT INTO people (id, contact_id, first_name, last_name, created_at, updated_at, updated_in_db_at, account_list_id)
		VALUES (?, ?, 'named another account list', NULL, 1, 1, 1, ?)`, wrong, cA2, alB)
	if _, err := s.Seed(ctx, SeedOptions{AccountListID: alC, Contacts: 3, PeoplePerContact: 2, PhonesPerPerson: 1}); err != nil {
		t.Fatal(err)
	}
	byAL = checkPeopleAccountLists(t, "after inserts", s)
	for _, w := range []struct {
		id, al string
	}{{created.ID, alA}, {plain, alB}, {wrong, alA}} {
		if !slices.Contains(byAL[w.al], w.id) {
			t.Errorf("person %s is not account list %s's: %v", w.id, w.al, byAL)
		}
	}
	if len(byAL[alA]) != 6 || len(byAL[alB]) != 3 || len(byAL[alC]) != 6 {
		t.Fatalf("people per account list after inserts: %v; want 6 in A, 3 in B, 6 seeded in C", byAL)
	}
	for _, al := range []string{alA, alB, alC} {
		if got := accountPeopleIDs(t, s, al); !slices.Equal(got, byAL[al]) {
			t.Errorf("account list %s: ListAccountPeople %v, want %v", al, got, byAL[al])
		}
	}

	// Export and import, into the test's engine and into SQLite: the
	// export leaves the column out, the importing database's trigger
	// fills it.
	var exported bytes.Buffer
	if _, err := s.Export(ctx, &exported, nil); err != nil {
		t.Fatal(err)
	}
	peopleLines := 0
	for _, l := range strings.Split(exported.String(), "\n") {
		if strings.HasPrefix(l, `{"type":"people",`) {
			peopleLines++
			if strings.Contains(l, "account_list_id") {
				t.Errorf("the export names the derived column: %s", l)
			}
		}
	}
	if peopleLines != 15 {
		t.Fatalf("the export has %d people, want 15", peopleLines)
	}
	for _, dst := range []struct {
		name string
		s    *Store
	}{{"import into " + engine, openStore(t)}, {"import into a SQLite file", openSQLite(t, "import.db")}} {
		t.Run(dst.name, func(t *testing.T) {
			dst := dst.s
			if _, err := dst.Import(ctx, bytes.NewReader(exported.Bytes()), nil); err != nil {
				t.Fatal(err)
			}
			got := checkPeopleAccountLists(t, "imported", dst)
			if fmt.Sprint(got) != fmt.Sprint(byAL) {
				t.Errorf("imported people per account list %v, want %v", got, byAL)
			}
			for _, al := range []string{alA, alB, alC} {
				if ids := accountPeopleIDs(t, dst, al); !slices.Equal(ids, byAL[al]) {
					t.Errorf("account list %s: ListAccountPeople %v, want %v", al, ids, byAL[al])
				}
			}
		})
	}
}
