package db

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// A fixture is an export (see Export) held in memory, parsed and checked
// once by ReadFixture, which Restore writes into a database again and
// again: the known data of `phoneapi sandbox`, restored before each test.

// Fixture is a parsed export: every row of every table, in export order.
// It is not changed after ReadFixture and may be used by many goroutines.
type Fixture struct {
	rows     []importRow // every row but the settings, in export order
	settings []importRow // the settings rows
	tables   map[string]int
	users    []FixtureUser
}

// FixtureUser is a user of a fixture, with what its account list holds.
type FixtureUser struct {
	ID, AccountListID        string
	Contacts, People, Phones int
}

// restoreTables are the tables Restore empties, children before parents.
// settings is not among them: Restore never removes a setting (the JWT
// secret stays).
var restoreTables = []string{"phones", "people", "contacts", "deleted_records", "idempotency_keys", "users", "account_lists"}

// ReadFixture reads an export from r (any version Import reads) and
// checks every line as Import does: the header, each line's syntax,
// table, order and columns, and the header's counts. Its errors name the
// line and the reason, e.g. "line 4: contacts "…": missing attribute
// "name"". What only the database can check (a missing parent, a
// duplicate id) is reported by the first Restore, naming the line too.
func ReadFixture(r io.Reader) (*Fixture, error) {
	f := &Fixture{tables: make(map[string]int, len(exportTables))}
	for _, t := range exportTables {
		f.tables[t.name] = 0 // every table is named, empty or not
	}
	err := readExport(r, func() error { return nil }, func(row importRow) bool {
		if row.table == settingsTable {
			f.settings = append(f.settings, row)
		} else {
			f.rows = append(f.rows, row)
		}
		if row.table != v1WriteClockTable {
			f.tables[row.table.name]++
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	f.users = fixtureUsers(f.rows)
	return f, nil
}

// fixtureUsers lists the users of rows, by id, with the contacts, people
// and phones of their account lists.
func fixtureUsers(rows []importRow) []FixtureUser {
	contactList := map[string]string{} // contact → account list
	personList := map[string]string{}  // person → account list
	type counts struct{ contacts, people, phones int }
	per := map[string]*counts{}
	get := func(al string) *counts {
		if per[al] == nil {
			per[al] = &counts{}
		}
		return per[al]
	}
	var users []FixtureUser
	str := func(v any) string { s, _ := v.(string); return s }
	for _, r := range rows {
		switch r.table.name {
		case "users":
			users = append(users, FixtureUser{ID: str(r.args[0]), AccountListID: str(r.args[1])})
		case "contacts":
			al := str(r.args[1])
			contactList[str(r.args[0])] = al
			get(al).contacts++
		case "people":
			al := contactList[str(r.args[1])]
			personList[str(r.args[0])] = al
			get(al).people++
		case "phones":
			get(personList[str(r.args[1])]).phones++
		}
	}
	for i := range users {
		c := get(users[i].AccountListID)
		users[i].Contacts, users[i].People, users[i].Phones = c.contacts, c.people, c.phones
	}
	sort.Slice(users, func(i, j int) bool { return users[i].ID < users[j].ID })
	return users
}

// Users returns the fixture's users, by id.
func (f *Fixture) Users() []FixtureUser { return append([]FixtureUser(nil), f.users...) }

// Setting returns the value of the fixture's setting key, if it has one
// (an export holds the JWT secret under "jwt_secret").
func (f *Fixture) Setting(key string) (string, bool) {
	for _, r := range f.settings {
		if r.args[0] == key {
			v, _ := r.args[1].(string)
			return v, true
		}
	}
	return "", false
}

// Tables returns the fixture's rows per table, every table of the export
// format named (ExportTables), with 0 if it has none.
func (f *Fixture) Tables() map[string]int {
	m := make(map[string]int, len(f.tables))
	for k, v := range f.tables {
		m[k] = v
	}
	return m
}

// Restore replaces the data of the database with the fixture's, in one
// write transaction: it deletes every row of every data table (account
// lists, users, contacts, people, phones, tombstones and idempotency
// keys) and inserts the fixture's rows as Import does, values unchanged.
// Settings are never deleted or changed: the fixture's are added when the
// database lacks them (so the JWT secret of the first Restore stays for
// good). Concurrent requests see the data before or after, never a mix;
// on SQLite the transaction goes through the group committer like every
// write, on PostgreSQL it first locks every account list, as each write
// of an account list does.
//
// It returns the rows written per table. If a row is refused (a missing
// parent, a duplicate id, text the engine cannot store), nothing changes
// and the error names the fixture's line, as Import's do.
func (s *Store) Restore(ctx context.Context, f *Fixture) (ImportResult, error) {
	res := ImportResult{Tables: f.Tables()}
	var settings []importRow
	err := s.inTx(ctx, func(tx conn) error {
		var err error
		if settings, err = clearForRestore(ctx, tx, f); err != nil {
			return err
		}
		if err := insertBatch(ctx, tx, settings); err != nil {
			return err
		}
		return insertBatch(ctx, tx, f.rows)
	})
	if err != nil {
		if ctx.Err() == nil {
			if lineErr := s.findBadRowAfter(ctx, func(tx conn) error {
				_, err := clearForRestore(ctx, tx, f)
				return err
			}, append(append([]importRow(nil), settings...), f.rows...)); lineErr != nil {
				err = lineErr
			}
		}
		return ImportResult{}, fmt.Errorf("restore: %w", err)
	}
	res.Tables[settingsTable.name] = len(settings)
	for _, n := range res.Tables {
		res.Rows += n
	}
	return res, nil
}

// clearForRestore locks and empties the data tables in tx and returns the
// fixture's settings rows that the database lacks.
func clearForRestore(ctx context.Context, tx conn, f *Fixture) ([]importRow, error) {
	// Every write of an account list locks its row first (lockAccountList):
	// taking them all first keeps PostgreSQL's lock order, so no deadlock.
	if _, err := tx.ExecContext(ctx, `UPDATE account_lists SET hw = hw`); err != nil {
		return nil, fmt.Errorf("lock account lists: %w", mapError(err))
	}
	for _, t := range restoreTables {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+t); err != nil {
			return nil, fmt.Errorf("delete %s: %w", t, mapError(err))
		}
	}
	var missing []importRow
	for _, r := range f.settings {
		ok, err := exists(ctx, tx, `SELECT 1 FROM settings WHERE key = ?`, r.args[0])
		if err != nil {
			return nil, fmt.Errorf("read settings: %w", mapError(err))
		}
		if !ok {
			missing = append(missing, r)
		}
	}
	return missing, nil
}

// Latest returns the latest timestamp in the fixture (creations, updates,
// deletions and the account lists' write clocks), or the zero time if it
// holds none. A deterministic clock that starts after it (see
// Deterministic) makes every write's time the clock's.
func (f *Fixture) Latest() time.Time {
	var latest int64
	for _, r := range f.rows {
		for i, c := range r.table.attrs {
			if c.name != "hw" && !strings.HasSuffix(c.name, "_at") {
				continue
			}
			if v, ok := r.args[1+i].(int64); ok && v > latest {
				latest = v
			}
		}
	}
	if latest == 0 {
		return time.Time{}
	}
	return fromMillis(latest)
}
