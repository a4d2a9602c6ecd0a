package db

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nyaruka/phonenumbers"
	"github.com/phoneapi/phoneapi/db/dbtest"
)

func contactsFirstPerson(t *testing.T, s *Store, contactID string) string {
	t.Helper()
	people, _, err := s.ListPeople(t.Context(), contactPath(t, s, contactID), ListQuery{Limit: 1})
	if err != nil || len(people) != 1 {
		t.Fatalf("ListPeople = %v, %v", people, err)
	}
	return people[0].ID
}

func TestSeed(t *testing.T) { forEachBackend(t, testSeed) }

func testSeed(t *testing.T) {
	s, clk := newStore(t)
	ctx := t.Context()
	al := newAccountList(t, s)
	other := newAccountList(t, s)
	mustContact(t, s, Contact{AccountListID: other, Name: "untouched"})

	defer func(n int) { seedBatchRows = n }(seedBatchRows)
	seedBatchRows = 20 // 9 rows per contact: batches of 2 contacts
	type call struct{ done, total int }
	var calls []call
	hwBefore := highWater(t, s, al)
	res, err := s.Seed(ctx, SeedOptions{
		AccountListID: strings.ToUpper(al), Contacts: 10, PeoplePerContact: 2, PhonesPerPerson: 3,
		Progress: func(done, total int) { calls = append(calls, call{done, total}) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if res != (SeedResult{Contacts: 10, People: 20, Phones: 60}) {
		t.Errorf("result = %+v, want 10, 20, 60", res)
	}
	wantCalls := []call{{12, 60}, {24, 60}, {36, 60}, {48, 60}, {60, 60}}
	if !slices.Equal(calls, wantCalls) {
		t.Errorf("progress calls %v, want %v (one per batch)", calls, wantCalls)
	}

	for _, c := range []struct {
		query string
		want  int
	}{
		{`SELECT COUNT(*) FROM contacts WHERE account_list_id = '` + al + `'`, 10},
		{`SELECT COUNT(*) FROM contacts`, 11},
		{`SELECT COUNT(*) FROM people`, 20},
		{`SELECT COUNT(*) FROM phones`, 60},
		{`SELECT COUNT(*) FROM (SELECT contact_id FROM people GROUP BY contact_id HAVING COUNT(*) = 2) AS x`, 10},
		{`SELECT COUNT(*) FROM (SELECT person_id FROM phones GROUP BY person_id HAVING COUNT(*) = 3) AS x`, 20},
		// Exactly one primary per person, non-historic, and it is the first phone.
		{`SELECT COUNT(*) FROM (SELECT person_id FROM phones GROUP BY person_id HAVING SUM(CASE WHEN "primary" THEN 1 ELSE 0 END) = 1) AS x`, 20},
		{`SELECT COUNT(*) FROM phones WHERE "primary" AND historic`, 0},
		{`SELECT COUNT(*) FROM phones p WHERE "primary" AND created_at =
			(SELECT MIN(created_at) FROM phones WHERE person_id = p.person_id)`, 20},
		{`SELECT COUNT(*) FROM phones WHERE historic`, 5}, // last phone of every fourth person
		{`SELECT COUNT(*) FROM phones WHERE source = 'MPDX' AND valid_values`, 60},
		{`SELECT COUNT(DISTINCT number) FROM phones`, 60},
		{`SELECT COUNT(*) FROM people WHERE last_name IS NULL`, 0}, // one in 25 from the 25th
	} {
		wantCount(t, s, c.want, c.query)
	}

	// Every row a new lower-case UUID; timestamps one millisecond apart in
	// creation order, ending no later than now.
	rows, err := s.pool().QueryContext(ctx, `
		SELECT id, created_at, updated_at, updated_in_db_at FROM contacts WHERE account_list_id = ?
		UNION ALL SELECT id, created_at, updated_at, updated_in_db_at FROM people
		UNION ALL SELECT id, created_at, updated_at, updated_in_db_at FROM phones
		ORDER BY created_at`, al)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var stamps []int64
	ids := map[string]bool{}
	for rows.Next() {
		var id string
		var created, updated, inDB int64
		if err := rows.Scan(&id, &created, &updated, &inDB); err != nil {
			t.Fatal(err)
		}
		if _, err := uuid.Parse(id); err != nil || id != strings.ToLower(id) || ids[id] {
			t.Errorf("id %q: not a new lower-case UUID", id)
		}
		ids[id] = true
		if updated != created || inDB != created {
			t.Errorf("row %s: created %d updated %d in db %d, want equal", id, created, updated, inDB)
		}
		stamps = append(stamps, created)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(stamps) != 90 {
		t.Fatalf("%d rows, want 90", len(stamps))
	}
	for i := 1; i < len(stamps); i++ {
		if stamps[i] != stamps[i-1]+1 {
			t.Fatalf("timestamps %d and %d of rows %d, %d: want 1 ms apart", stamps[i-1], stamps[i], i-1, i)
		}
	}
	// Seeded stamps end about now, but never below what earlier writes of
	// the account list issued (its write clock), and they raise it to the
	// last one (see also TestSeedWriteClock).
	if first := fromMillis(stamps[0]); first.Before(hwBefore) {
		t.Errorf("first timestamp %v below the write clock %v", first, hwBefore)
	}
	if last := fromMillis(stamps[len(stamps)-1]); last.After(nowMS(clk)) && fromMillis(stamps[0]).After(hwBefore) {
		t.Errorf("last timestamp %v after now %v though the write clock did not hold it back", last, nowMS(clk))
	}
	if hw := highWater(t, s, al); hw.UnixMilli() != stamps[len(stamps)-1] {
		t.Errorf("write clock %v after seeding, want the last stamp %d", hw, stamps[len(stamps)-1])
	}

	// Valid E.164 numbers, locations cycling, through the list API.
	contacts, total, err := s.ListContacts(ctx, al, ListQuery{Sort: "name"})
	if err != nil || total != 10 || len(contacts) != 10 {
		t.Fatalf("ListContacts = %d, %d, %v", len(contacts), total, err)
	}
	countries := map[string]int{}
	for _, c := range contacts {
		people, total, err := s.ListPeople(ctx, contactPath(t, s, c.ID), ListQuery{})
		if err != nil || total != 2 {
			t.Fatalf("ListPeople = %d, %v", total, err)
		}
		if !strings.HasPrefix(c.Name, strOrNil(people[0].LastName)+", "+people[0].FirstName) {
			t.Errorf("contact name %q, people %s %s", c.Name, people[0].FirstName, strOrNil(people[0].LastName))
		}
		for _, p := range people {
			phones, total, err := s.ListPhones(ctx, personPath(t, s, p.ID), ListQuery{})
			if err != nil || total != 3 || len(phones) != 3 {
				t.Fatalf("ListPhones = %d, %d, %v", len(phones), total, err)
			}
			for j, ph := range phones {
				if want := []string{"mobile", "home", "work"}[j]; strOrNil(ph.Location) != want {
					t.Errorf("phone %d of a person: location %s, want %s", j, strOrNil(ph.Location), want)
				}
				if ph.Primary != (j == 0) {
					t.Errorf("phone %d of a person: primary %v", j, ph.Primary)
				}
				pn, err := phonenumbers.Parse(ph.Number, "ZZ")
				if err != nil || !phonenumbers.IsValidNumber(pn) || phonenumbers.Format(pn, phonenumbers.E164) != ph.Number {
					t.Errorf("number %s is not a valid E.164 number: %v", ph.Number, err)
					continue
				}
				if code := strOrNil(ph.CountryCode); code != "1" && code != "44" || code != strconv.Itoa(int(pn.GetCountryCode())) {
					t.Errorf("number %s with country code %s, want 1 or 44 matching the number", ph.Number, code)
				}
				countries[strOrNil(ph.CountryCode)]++
			}
		}
		primaries, n, err := s.ListPhones(ctx, personPath(t, s, people[0].ID), ListQuery{Primary: ptr(true)})
		if err != nil || n != 1 || len(primaries) != 1 {
			t.Errorf("primary phones of a person: %d, %v", n, err)
		}
	}
	if countries["1"] == 0 || countries["44"] == 0 {
		t.Errorf("numbers by country code %v, want both US and UK", countries)
	}

	// The one-primary rule keeps working on seeded data.
	sc := Scope{AccountListID: al, ContactID: contacts[0].ID, PersonID: contactsFirstPerson(t, s, contacts[0].ID)}
	ph, err := s.CreatePhone(ctx, sc, NewPhone{Number: "+16175550100", Primary: true})
	if err != nil || !ph.Primary {
		t.Fatalf("CreatePhone primary = %+v, %v", ph, err)
	}
	wantCount(t, s, 1, `SELECT SUM(CASE WHEN "primary" THEN 1 ELSE 0 END) FROM phones WHERE person_id = ?`, ph.PersonID)
}

func TestSeedLastNames(t *testing.T) { forEachBackend(t, testSeedLastNames) }

func testSeedLastNames(t *testing.T) {
	s, _ := newStore(t)
	al := newAccountList(t, s)
	if _, err := s.Seed(t.Context(), SeedOptions{AccountListID: al, Contacts: 50, PeoplePerContact: 1}); err != nil {
		t.Fatal(err)
	}
	wantCount(t, s, 2, `SELECT COUNT(*) FROM people WHERE last_name IS NULL`)
	wantCount(t, s, 0, `SELECT COUNT(*) FROM phones`)
}

func TestSeedErrors(t *testing.T) { forEachBackend(t, testSeedErrors) }

func testSeedErrors(t *testing.T) {
	s, _ := newStore(t)
	ctx := t.Context()
	al := newAccountList(t, s)
	progress := func(int, int) { t.Error("Progress called") }

	_, err := s.Seed(ctx, SeedOptions{AccountListID: uuid.NewString(), Contacts: 1, Progress: progress})
	wantErr(t, err, ErrNotFound)
	_, err = s.Seed(ctx, SeedOptions{AccountListID: al, Contacts: 1, PhonesPerPerson: -1, Progress: progress})
	if err == nil {
		t.Error("negative count accepted")
	}
	res, err := s.Seed(ctx, SeedOptions{AccountListID: al, Progress: progress})
	if err != nil || res != (SeedResult{}) {
		t.Errorf("empty seed = %+v, %v", res, err)
	}
	wantCount(t, s, 0, `SELECT COUNT(*) FROM contacts`)

	// A cancelled seed keeps the batches already committed and counts them.
	defer func(n int) { seedBatchRows = n }(seedBatchRows)
	seedBatchRows = 3 // one contact of 3 rows per batch
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	res, err = s.Seed(cctx, SeedOptions{AccountListID: al, Contacts: 5, PeoplePerContact: 1, PhonesPerPerson: 1,
		Progress: func(done, _ int) {
			if done == 2 {
				cancel()
			}
		}})
	if !errors.Is(err, context.Canceled) || res != (SeedResult{Contacts: 2, People: 2, Phones: 2}) {
		t.Errorf("cancelled seed = %+v, %v; want 2 of each and context.Canceled", res, err)
	}
	wantCount(t, s, 2, `SELECT COUNT(*) FROM phones`)
}

// TestSeedWriteClock: Seed stamps rows no earlier than the account list's
// write clock and raises it to its last stamp; another account list's
// clock does not hold it back.
func TestSeedWriteClock(t *testing.T) { forEachBackend(t, testSeedWriteClock) }

func testSeedWriteClock(t *testing.T) {
	s, clk := newStore(t)
	ctx := t.Context()
	ahead, behind := newAccountList(t, s), newAccountList(t, s)
	clk.Set(dbtest.Start.Add(time.Hour))
	mustContact(t, s, Contact{AccountListID: ahead, Name: "written with the clock ahead"})
	clk.Set(dbtest.Start)
	now := nowMS(clk)
	hwAhead := highWater(t, s, ahead)
	if !hwAhead.After(now) {
		t.Fatalf("fixture: write clock %v, want it after the clock %v", hwAhead, now)
	}

	for _, tt := range []struct {
		name        string
		al          string
		first, last func(rows int) time.Time // the expected first and last stamps
	}{
		// Held back: the stamps start at the account list's clock.
		{"clock ahead", ahead,
			func(int) time.Time { return hwAhead },
			func(rows int) time.Time { return hwAhead.Add(time.Duration(rows-1) * time.Millisecond) }},
		// Not held back by the other account list: the stamps end just
		// before now.
		{"clock behind", behind,
			func(rows int) time.Time { return now.Add(-time.Duration(rows) * time.Millisecond) },
			func(int) time.Time { return now.Add(-time.Millisecond) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, err := s.Seed(ctx, SeedOptions{AccountListID: tt.al, Contacts: 3, PeoplePerContact: 1, PhonesPerPerson: 2})
			if err != nil {
				t.Fatal(err)
			}
			rows := res.Contacts + res.People + res.Phones
			var first, last int64
			err = s.pool().QueryRowContext(ctx, `SELECT MIN(c.created_at), MAX(ph.updated_in_db_at)
				FROM contacts c JOIN people p ON p.contact_id = c.id JOIN phones ph ON ph.person_id = p.id
				WHERE c.account_list_id = ? AND c.name <> 'written with the clock ahead'`, tt.al).Scan(&first, &last)
			if err != nil {
				t.Fatal(err)
			}
			if !fromMillis(first).Equal(tt.first(rows)) || !fromMillis(last).Equal(tt.last(rows)) {
				t.Errorf("stamps %v to %v, want %v to %v", fromMillis(first), fromMillis(last), tt.first(rows), tt.last(rows))
			}
			if hw := highWater(t, s, tt.al); !hw.Equal(fromMillis(last)) {
				t.Errorf("write clock %v after seeding, want the last stamp %v", hw, fromMillis(last))
			}
		})
	}
	if hw := highWater(t, s, behind); !hw.Before(hwAhead) {
		t.Errorf("the account list seeded with the clock behind has write clock %v, want it before the other's %v", hw, hwAhead)
	}
}
