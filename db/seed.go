package db

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// SeedOptions describes test data for Seed: Contacts contacts in the
// account list AccountListID, each with PeoplePerContact people, each with
// PhonesPerPerson phones. Progress, if set, is called after each committed
// batch with the number of phones written so far and in all.
type SeedOptions struct {
	AccountListID    string
	Contacts         int
	PeoplePerContact int
	PhonesPerPerson  int
	Progress         func(phonesDone, phonesTotal int)
}

// SeedResult counts the rows Seed wrote.
type SeedResult struct {
	Contacts, People, Phones int
}

// seedBatchRows is about how many rows (of all tables) Seed writes per
// transaction. It is a variable so that tests can make batches small.
var seedBatchRows = 25_000

// seedMultiRow is how many rows one INSERT statement of Seed writes.
const seedMultiRow = 100

// Seed fills an account list with generated contacts, people and phones,
// quickly: a million phones take seconds. It is meant for load tests and
// demos.
//
// Every row gets a new random id and created_at = updated_at =
// updated_in_db_at, increasing by one millisecond per row in creation
// order (a contact, then its people, then their phones) and ending about
// now, or later when earlier writes were stamped later: like every write,
// Seed never stamps below the account list's write clock (see writeClock).
// Names are drawn from short lists; about one person in 25 has no
// last name. Phones are valid E.164 numbers, most in the US (country code
// "1") and some in the UK ("44"), with locations cycling mobile, home,
// work; each person's first phone is primary and the others are not; the
// last of every fourth person's phones is historic if there are several.
// Every phone has source DefaultSource and valid values. The one-primary
// rule holds for the result.
//
// Rows are written in batches of about 25,000, each in its own
// transaction; if Seed fails, the batches already committed stay and the
// result counts them. It returns ErrNotFound if the account list does not
// exist.
func (s *Store) Seed(ctx context.Context, o SeedOptions) (SeedResult, error) {
	o.AccountListID = normID(o.AccountListID)
	res, err := s.seed(ctx, o)
	if err != nil {
		return res, fmt.Errorf("seed account list %s: %w", o.AccountListID, err)
	}
	return res, nil
}

func (s *Store) seed(ctx context.Context, o SeedOptions) (SeedResult, error) {
	if o.Contacts < 0 || o.PeoplePerContact < 0 || o.PhonesPerPerson < 0 {
		return SeedResult{}, errors.New("negative count")
	}
	ok, err := exists(ctx, s.pool(), `SELECT 1 FROM account_lists WHERE id = ?`, o.AccountListID)
	if err != nil {
		return SeedResult{}, err
	}
	if !ok {
		return SeedResult{}, ErrNotFound
	}

	perContact := 1 + o.PeoplePerContact + o.PeoplePerContact*o.PhonesPerPerson // rows
	phonesTotal := o.Contacts * o.PeoplePerContact * o.PhonesPerPerson
	g := &seeder{
		o:    o,
		next: s.clock().Add(-time.Duration(o.Contacts*perContact) * time.Millisecond),
		rnd:  rand.New(rand.NewPCG(1, 2)), // fixed: the same numbers every time

		contactIDs: newIDs(o.Contacts),
		personIDs:  newIDs(o.Contacts * o.PeoplePerContact),
		phoneIDs:   newIDs(phonesTotal),
	}
	contactsPerBatch := max(1, seedBatchRows/perContact)

	var res SeedResult
	for done := 0; done < o.Contacts; {
		n := min(contactsPerBatch, o.Contacts-done)
		var batch SeedResult
		err := s.inAccountList(ctx, o.AccountListID, func(tx conn) error {
			// Lock the account list and never stamp below what its
			// earlier writes issued (see writeClock).
			var hw int64
			err := tx.QueryRowContext(ctx, `UPDATE account_lists SET hw = hw WHERE id = ? RETURNING hw`, o.AccountListID).Scan(&hw)
			if err != nil {
				return fmt.Errorf("lock account list: %w", mapError(err))
			}
			if h := fromMillis(hw); g.next.Before(h) {
				g.next = h
			}
			if batch, err = g.batch(ctx, tx, n); err != nil {
				return err
			}
			return raiseClock(ctx, tx, o.AccountListID, g.next.Add(-time.Millisecond))
		})
		if err != nil {
			return res, err
		}
		res.Contacts += batch.Contacts
		res.People += batch.People
		res.Phones += batch.Phones
		done += n
		if o.Progress != nil {
			o.Progress(res.Phones, phonesTotal)
		}
	}
	return res, nil
}

// seeder generates Seed's rows.
type seeder struct {
	o    SeedOptions
	next time.Time  // timestamp of the next row
	rnd  *rand.Rand // numbers and names
	seq  int        // people generated so far

	// New ids, handed out in order; see newIDs.
	contactIDs, personIDs, phoneIDs *ids
}

// ids hands out ids in ascending order.
type ids struct {
	ids  []uuid.UUID
	next int
}

// newIDs returns n ids from uuid.New, in ascending order. Each table's ids
// are handed out in order, so every insert appends to the table's id
// index and to the indexes that start with a parent's id: a batch dirties
// few pages however large the database is. Random order would dirty
// nearly every index page in every batch, making Seed quadratic.
func newIDs(n int) *ids {
	list := make([]uuid.UUID, n)
	for i := range list {
		list[i] = uuid.New()
	}
	slices.SortFunc(list, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
	return &ids{ids: list}
}

// take returns the next id in its stored form.
func (x *ids) take() string {
	id := x.ids[x.next].String()
	x.next++
	return id
}

// stamp returns the timestamp of the next row, in unix milliseconds.
func (g *seeder) stamp() int64 {
	ms := g.next.UnixMilli()
	g.next = g.next.Add(time.Millisecond)
	return ms
}

// batch writes n contacts with their people and phones in tx. It
// generates every row first, then writes the contacts, then the people,
// then the phones, so parents always precede their children.
func (g *seeder) batch(ctx context.Context, tx conn, n int) (SeedResult, error) {
	contacts := &rows{width: 6}
	people := &rows{width: 7}
	phones := &rows{width: 12}
	var res SeedResult
	for range n {
		surname := seedSurnames[g.rnd.IntN(len(seedSurnames))]
		firstNames := make([]string, g.o.PeoplePerContact)
		for i := range firstNames {
			firstNames[i] = seedFirstNames[g.rnd.IntN(len(seedFirstNames))]
		}
		name := surname
		if len(firstNames) > 0 {
			name += ", " + strings.Join(firstNames[:min(2, len(firstNames))], " and ")
		}
		contactID := g.contactIDs.take()
		ms := g.stamp()
		contacts.add(contactID, g.o.AccountListID, name, ms, ms, ms)
		res.Contacts++

		for _, first := range firstNames {
			personID := g.personIDs.take()
			var last any = surname
			if g.seq%25 == 24 {
				last = nil
			}
			uk := g.seq%4 == 1
			historicLast := g.seq%4 == 3 && g.o.PhonesPerPerson > 1
			g.seq++
			ms := g.stamp()
			people.add(personID, contactID, first, last, ms, ms, ms)
			res.People++

			for j := range g.o.PhonesPerPerson {
				location := seedLocations[j%len(seedLocations)]
				number, code := g.number(uk, location == "mobile")
				historic := historicLast && j == g.o.PhonesPerPerson-1
				ms := g.stamp()
				phones.add(g.phoneIDs.take(), personID, number, code, location,
					j == 0, historic, DefaultSource, true, ms, ms, ms)
				res.Phones++
			}
		}
	}
	for _, t := range []struct {
		table, columns string
		rows           *rows
	}{
		{"contacts", contactColumns, contacts},
		{"people", personColumns, people},
		{"phones", phoneColumns, phones},
	} {
		if err := insertRows(ctx, tx, t.table, t.columns, t.rows); err != nil {
			return SeedResult{}, fmt.Errorf("insert %s: %w", t.table, err)
		}
	}
	return res, nil
}

// number returns a valid E.164 number and its calling code: a US number,
// or a UK mobile or London number.
func (g *seeder) number(uk, mobile bool) (string, string) {
	digits := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = '0' + byte(g.rnd.IntN(10))
		}
		return string(b)
	}
	switch {
	case uk && mobile: // 074xx: 4 is followed by any digit but 5
		return "+4474" + string("012346789"[g.rnd.IntN(9)]) + digits(7), "44"
	case uk: // 020 3, 020 7, 020 8
		return "+4420" + string("378"[g.rnd.IntN(3)]) + digits(7), "44"
	default: // area code, then an exchange starting 2-9
		area := seedAreaCodes[g.rnd.IntN(len(seedAreaCodes))]
		return "+1" + area + strconv.Itoa(2+g.rnd.IntN(8)) + digits(6), "1"
	}
}

var (
	seedSurnames = []string{
		"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
		"Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
		"Lee", "Perez", "Thompson", "White", "Harris", "Clark", "Lewis", "Robinson", "Walker", "Young",
		"Evans", "Hughes", "Edwards", "Wright", "Green", "Hall", "Wood", "Roberts", "Cooper", "Patel",
	}
	seedFirstNames = []string{
		"James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
		"William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Daniel", "Karen",
		"Oliver", "Amelia", "George", "Isla", "Harry", "Ava", "Noah", "Emily", "Jack", "Sophia",
	}
	seedAreaCodes = []string{
		"201", "202", "206", "212", "213", "303", "305", "312", "404", "407",
		"415", "469", "503", "512", "602", "615", "617", "702", "713", "919",
	}
	seedLocations = []string{"mobile", "home", "work"}
)

// rows holds the values of rows to insert, row after row.
type rows struct {
	width int // values per row
	args  []any
}

func (r *rows) add(row ...any) {
	if len(row) != r.width {
		panic(fmt.Sprintf("db: seed row of %d values, want %d", len(row), r.width))
	}
	r.args = append(r.args, row...)
}

// insertRows inserts r into table with multi-row INSERT statements: one
// of seedMultiRow rows, run again and again (both engines keep the
// prepared statement in their connection's cache), and one for the rest.
//
// A text value that holds U+0000 or is not valid UTF-8 fails before any
// statement runs, with a *TextError naming its table, column and row.
func insertRows(ctx context.Context, tx conn, table, columns string, r *rows) error {
	if err := checkArgs(r.args, columns, r.width); err != nil {
		err.Table = table
		return err
	}
	chunk := seedMultiRow * r.width
	args := r.args
	if len(args) >= chunk {
		insert := multiRowInsert(table, columns, r.width, seedMultiRow)
		for ; len(args) >= chunk; args = args[chunk:] {
			if _, err := tx.ExecContext(ctx, insert, args[:chunk]...); err != nil {
				return mapError(err)
			}
		}
	}
	if len(args) > 0 {
		_, err := tx.ExecContext(ctx, multiRowInsert(table, columns, r.width, len(args)/r.width), args...)
		return mapError(err)
	}
	return nil
}

// multiRowInsert returns an INSERT of n rows of width values.
func multiRowInsert(table, columns string, width, n int) string {
	row := "(?" + strings.Repeat(", ?", width-1) + ")"
	return `INSERT INTO ` + table + ` (` + columns + `) VALUES ` + row + strings.Repeat(", "+row, n-1)
}
