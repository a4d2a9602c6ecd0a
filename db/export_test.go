package db

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/phoneapi/phoneapi/db/dbtest"
)

// weirdText exercises JSON escaping: quotes, backslashes, control
// characters, HTML characters, line separators and non-ASCII.
const weirdText = "q\"b\\s/n\nr\rt\tc\x01\x1f<>&\u2028\u2029 é 😀 '?' $1"

// fillExportSource writes data covering every column's range of values
// through the store's API: two users with their account lists, settings,
// contacts with times before 1970 and far ahead, people with and without
// last names, phones with NULLs, primary, historic and invalid ones,
// updates (primary fix-up included), deletes of each kind (tombstones)
// and a seeded bulk.
func fillExportSource(t *testing.T, s *Store) {
	t.Helper()
	ctx := t.Context()
	c := dbtest.NewClock(dbtest.Start)
	s.SetClock(c.Now)
	tick := func() { c.Add(3*time.Millisecond + 456*time.Microsecond) }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := s.InitSetting(ctx, "jwt_secret", "0123456789abcdef0123456789abcdef")
	must(err)
	_, err = s.InitSetting(ctx, "weird", weirdText)
	must(err)
	al1, err := s.EnsureUser(ctx, "0b7f0f8e-1111-4222-8333-944455556666")
	must(err)
	tick()
	al2, err := s.EnsureUser(ctx, "0b7f0f8e-2222-4222-8333-944455556666")
	must(err)
	tick()

	old := time.Date(1901, 2, 3, 4, 5, 6, 7_000_000, time.UTC)
	future := time.Date(2999, 12, 31, 23, 59, 59, 999_000_000, time.UTC)
	c1, err := s.CreateContact(ctx, Contact{AccountListID: al1, Name: weirdText, CreatedAt: old, UpdatedAt: future})
	must(err)
	tick()
	c2, err := s.CreateContact(ctx, Contact{AccountListID: al1, Name: "Zed"})
	must(err)
	tick()
	c3, err := s.CreateContact(ctx, Contact{AccountListID: al2, Name: "Other list"})
	must(err)
	tick()
	p1, err := s.CreatePerson(ctx, contactScope(c1), Person{FirstName: "No", LastName: nil})
	must(err)
	tick()
	p2, err := s.CreatePerson(ctx, contactScope(c1), Person{FirstName: "Ann", LastName: ptr("O'Brien")})
	must(err)
	tick()
	p3, err := s.CreatePerson(ctx, contactScope(c2), Person{FirstName: "Gone", LastName: ptr("")})
	must(err)
	tick()
	p4, err := s.CreatePerson(ctx, contactScope(c3), Person{FirstName: "Deleted", LastName: ptr("Later")})
	must(err)
	tick()
	_, err = s.CreatePhone(ctx, personScope(c1, p1), NewPhone{Number: "+12025550101", Primary: true})
	must(err)
	tick()
	_, err = s.CreatePhone(ctx, personScope(c1, p1), NewPhone{Number: "+442079460000", CountryCode: ptr("44"),
		Location: ptr("home"), Historic: true, Source: "Siebel", ValidValues: ptr(false)})
	must(err)
	tick()
	ph3, err := s.CreatePhone(ctx, personScope(c1, p1), NewPhone{Number: "+12025550102", CountryCode: ptr("1"), Location: ptr(weirdText)})
	must(err)
	tick()
	ph4, err := s.CreatePhone(ctx, personScope(c1, p2), NewPhone{Number: "+12025550103", Primary: true})
	must(err)
	tick()
	for _, sc := range []Scope{personScope(c2, p3), personScope(c3, p4), personScope(c3, p4)} {
		_, err := s.CreatePhone(ctx, sc, NewPhone{Number: "+12025550199"})
		must(err)
		tick()
	}
	// Updates: the primary moves from ph1 to ph3 (fix-up), names change.
	_, err = s.UpdatePhone(ctx, personScope(c1, p1), ph3.ID, PhoneUpdate{Primary: ptr(true), Location: Patch[string]{Set: true}}, nil)
	must(err)
	tick()
	_, err = s.UpdateContact(ctx, al1, c2.ID, ContactUpdate{Name: ptr("Zed Renamed"), UpdatedAt: ptr(old)}, nil)
	must(err)
	tick()
	_, err = s.UpdatePerson(ctx, contactScope(c1), p2.ID, PersonUpdate{LastName: Patch[string]{Set: true}}, nil)
	must(err)
	tick()
	// Deletes of each kind leave tombstones.
	must(s.DeletePhone(ctx, personScope(c1, p2), ph4.ID, nil))
	tick()
	must(s.DeletePerson(ctx, contactScope(c2), p3.ID, nil))
	tick()
	must(s.DeleteContact(ctx, al2, c3.ID, nil))
	tick()
	// Bulk.
	if _, err := s.Seed(ctx, SeedOptions{AccountListID: al2, Contacts: 60, PeoplePerContact: 2, PhonesPerPerson: 3}); err != nil {
		t.Fatal(err)
	}
	tick()
	_, err = s.CreateContact(ctx, Contact{AccountListID: al2, Name: "after seed"})
	must(err)
}

// dumpTables reads every row of every table but schema_migrations, found
// in the engine's catalog, with SELECT * ordered by the primary key, and
// normalises the values so that both engines compare equal (booleans as
// 0/1, every integer int64, text string). It is independent of the export
// code: it fails if a table or column exists that the export does not
// cover (idempotency_keys aside: not exported, see exportTables).
func dumpTables(t *testing.T, s *Store) map[string][][]any {
	t.Helper()
	ctx := t.Context()
	catalog := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`
	if s.Engine() == "postgres" {
		catalog = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name`
	}
	names, err := queryAll(ctx, s.pool(), func(sc scanner) (string, error) {
		var n string
		return n, sc.Scan(&n)
	}, catalog)
	if err != nil {
		t.Fatal(err)
	}
	names = slices.DeleteFunc(names, func(n string) bool { return n == "schema_migrations" || n == "idempotency_keys" })
	want := ExportTables()
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Fatalf("tables %v, export covers %v", names, want)
	}
	out := make(map[string][][]any)
	f := formats[ExportVersion]
	for _, name := range names {
		rows, err := s.db.QueryContext(ctx, `SELECT * FROM `+name+` ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		cols, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		tbl := f.tables[f.index[name]]
		var wantCols []string
		for _, c := range append([]column{tbl.key}, tbl.attrs...) {
			wantCols = append(wantCols, c.name)
		}
		// The derived columns may be anywhere (a later migration adds
		// columns after them); the others are in export order.
		var exported, derived []string
		for _, c := range cols {
			if slices.Contains(tbl.derived, c) {
				derived = append(derived, c)
			} else {
				exported = append(exported, c)
			}
		}
		if !slices.Equal(exported, wantCols) || len(derived) != len(tbl.derived) {
			t.Fatalf("%s: columns %v, export covers %v and derives %v", name, cols, wantCols, tbl.derived)
		}
		var all [][]any
		for rows.Next() {
			vals := make([]any, len(cols))
			if err := rows.Scan(pointersTo(vals)...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				var ok bool
				if vals[i], ok = normalised(v); !ok {
					t.Fatalf("%s.%s: unexpected %T", name, cols[i], v)
				}
			}
			all = append(all, vals)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		out[name] = all
	}
	return out
}

// pointersTo returns pointers to each of vals, for Scan.
func pointersTo(vals []any) []any {
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	return ptrs
}

// normalised normalises a scanned value so that both engines' compare
// equal: booleans as 0/1, every integer int64, text string; ok is false
// for a type no column should have.
func normalised(v any) (_ any, ok bool) {
	switch v := v.(type) {
	case []byte:
		return string(v), true
	case bool:
		if v {
			return int64(1), true
		}
		return int64(0), true
	case int32:
		return int64(v), true
	case int:
		return int64(v), true
	case string, int64, nil:
		return v, true
	}
	return v, false
}

// sameTables fails the test where two dumps differ, naming the first
// differing row of each table.
func sameTables(t *testing.T, what string, a, b map[string][][]any) {
	t.Helper()
	for _, name := range ExportTables() {
		ra, rb := a[name], b[name]
		if len(ra) != len(rb) {
			t.Errorf("%s: %s has %d rows, want %d", what, name, len(rb), len(ra))
			continue
		}
		for i := range ra {
			if !reflect.DeepEqual(ra[i], rb[i]) {
				t.Errorf("%s: %s row %d is %v, want %v", what, name, i, rb[i], ra[i])
				break
			}
		}
	}
}

// exportBody returns an export's lines after the header.
func exportBody(t *testing.T, b []byte) string {
	t.Helper()
	_, body, ok := bytes.Cut(b, []byte("\n"))
	if !ok {
		t.Fatalf("export has no header line: %q", b)
	}
	return string(body)
}

func TestExportImportRoundTrip(t *testing.T) { forEachBackend(t, testExportImportRoundTrip) }

// testExportImportRoundTrip copies a SQLite database into the test's
// backend and from there into a new SQLite file, and compares every row of
// every table at each step.
func testExportImportRoundTrip(t *testing.T) {
	defer func(n int) { importBatchRows = n }(importBatchRows)
	importBatchRows = 250 // several batches; runs long enough for the prepared 100-row insert
	ctx := t.Context()
	src := openSQLite(t, "src.db")
	fillExportSource(t, src)
	want := dumpTables(t, src)
	total := 0
	for _, rows := range want {
		total += len(rows)
	}
	if len(want["deleted_records"]) < 7 || len(want["phones"]) < 360 || len(want["settings"]) != 2 {
		t.Fatalf("fixture too small: %d tombstones, %d phones, %d settings",
			len(want["deleted_records"]), len(want["phones"]), len(want["settings"]))
	}

	var first bytes.Buffer
	var exportProgress []int
	res, err := src.Export(ctx, &first, func(n int) { exportProgress = append(exportProgress, n) })
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != total || res.Tables["phones"] != len(want["phones"]) {
		t.Errorf("export result %+v, want %d rows", res, total)
	}
	if len(exportProgress) == 0 || exportProgress[len(exportProgress)-1] != total {
		t.Errorf("export progress %v, want it to end at %d", exportProgress, total)
	}
	if got := strings.Count(first.String(), "\n"); got != total+1 {
		t.Errorf("export has %d lines, want %d", got, total+1)
	}

	dst := openStore(t) // the test's backend
	var importProgress []int
	ires, err := dst.Import(ctx, bytes.NewReader(first.Bytes()), func(n int) { importProgress = append(importProgress, n) })
	if err != nil {
		t.Fatal(err)
	}
	if ires.Rows != total || !reflect.DeepEqual(ires.Tables, res.Tables) {
		t.Errorf("import result %+v, export %+v", ires, res)
	}
	if len(importProgress) < total/importBatchRows || !slices.IsSorted(importProgress) || importProgress[len(importProgress)-1] != total {
		t.Errorf("import progress %v, want batches ending at %d", importProgress, total)
	}
	sameTables(t, "SQLite → "+dst.Engine(), want, dumpTables(t, dst))

	// And back: the second export has the same lines, and a new SQLite
	// file the same rows.
	var second bytes.Buffer
	if _, err := dst.Export(ctx, &second, nil); err != nil {
		t.Fatal(err)
	}
	if exportBody(t, first.Bytes()) != exportBody(t, second.Bytes()) {
		t.Error("the export of the copy differs from the original's")
	}
	back := openSQLite(t, "back.db")
	if _, err := back.Import(ctx, &second, nil); err != nil {
		t.Fatal(err)
	}
	sameTables(t, "SQLite → "+dst.Engine()+" → SQLite", want, dumpTables(t, back))

	// The copy works as a store: the secret, the tombstones, and each
	// account list's write clock, which stamps the next write, with the
	// clock behind, no earlier than every copied one of the account list.
	if v, err := dst.Setting(ctx, "weird"); err != nil || v != weirdText {
		t.Errorf("setting weird = %q, %v", v, err)
	}
	dst.SetClock(dbtest.NewClock(dbtest.Start).Now)
	for _, u := range want["users"] {
		al := u[1].(string)
		hw := highWater(t, dst, al)
		if max := maxStamp(t, dst, al); !hw.Equal(max) || hw.Equal(fromMillis(0)) {
			t.Errorf("account list %s: copied write clock %v, latest copied stamp %v; want them equal", al, hw, max)
		}
		c, err := dst.CreateContact(ctx, Contact{AccountListID: al, Name: "new"})
		if err != nil {
			t.Fatal(err)
		}
		if c.UpdatedInDBAt.Before(hw) {
			t.Errorf("account list %s: new write stamped %v, before the copied high-water mark %v", al, c.UpdatedInDBAt, hw)
		}
	}
}

// TestExportFormat checks every line of a small export: the version 3
// header, each account list's line with its own write clock (hw): one
// account list written to a second after it was created, one never
// written to; and each row's previous updated_in_db_at: null for the
// person and phone, of one version, the first version's for the contact,
// written again a second later.
func TestExportFormat(t *testing.T) { forEachBackend(t, testExportFormat) }

func testExportFormat(t *testing.T) {
	ctx := t.Context()
	s, c := newStore(t)
	const user1, user2 = "0b7f0f8e-1111-4222-8333-944455556666", "0b7f0f8e-2222-4222-8333-944455556666"
	al, err := s.EnsureUser(ctx, user1)
	if err != nil {
		t.Fatal(err)
	}
	idle, err := s.EnsureUser(ctx, user2)
	if err != nil {
		t.Fatal(err)
	}
	created := nowMS(c).UnixMilli()
	c.Add(time.Second)
	ms := nowMS(c).UnixMilli()
	ct, err := s.CreateContact(ctx, Contact{AccountListID: al, Name: weirdText})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.CreatePerson(ctx, contactScope(ct), Person{FirstName: "A"})
	if err != nil {
		t.Fatal(err)
	}
	ph, err := s.CreatePhone(ctx, personScope(ct, p), NewPhone{Number: "+12025550101", Primary: true})
	if err != nil {
		t.Fatal(err)
	}
	c.Add(time.Second)
	ms2 := nowMS(c).UnixMilli()
	if _, err := s.UpdateContact(ctx, al, ct.ID, ContactUpdate{}, nil); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := s.Export(ctx, &buf, nil); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	accountLists := []string{
		fmt.Sprintf(`{"type":"account_lists","id":%q,"attributes":{"created_at":%d,"hw":%d}}`, al, created, ms2),
		fmt.Sprintf(`{"type":"account_lists","id":%q,"attributes":{"created_at":%d,"hw":0}}`, idle, created),
	}
	if idle < al {
		accountLists[0], accountLists[1] = accountLists[1], accountLists[0]
	}
	want := []string{
		`{"type":"phoneapi-export","version":3,"engine":"` + s.Engine() + `","exported_at":"2024-03-04T05:06:09.890Z","counts":{"account_lists":2,"contacts":1,"deleted_records":0,"people":1,"phones":1,"settings":0,"users":2}}`,
		accountLists[0],
		accountLists[1],
		fmt.Sprintf(`{"type":"users","id":%q,"attributes":{"account_list_id":%q,"created_at":%d}}`, user1, al, created),
		fmt.Sprintf(`{"type":"users","id":%q,"attributes":{"account_list_id":%q,"created_at":%d}}`, user2, idle, created),
		fmt.Sprintf(`{"type":"contacts","id":%q,"attributes":{"account_list_id":%q,"name":"q\"b\\s/n\nr\rt\tc\u0001\u001f<>&`+"\u2028\u2029 é 😀 '?' $1"+`","created_at":%d,"updated_at":%d,"updated_in_db_at":%d,"prev_updated_in_db_at":%d}}`, ct.ID, al, ms, ms2, ms2, ms),
		fmt.Sprintf(`{"type":"people","id":%q,"attributes":{"contact_id":%q,"first_name":"A","last_name":null,"created_at":%d,"updated_at":%d,"updated_in_db_at":%d,"prev_updated_in_db_at":null}}`, p.ID, ct.ID, ms, ms, ms),
		fmt.Sprintf(`{"type":"phones","id":%q,"attributes":{"person_id":%q,"number":"+12025550101","country_code":null,"location":null,"primary":true,"historic":false,"source":"MPDX","valid_values":true,"created_at":%d,"updated_at":%d,"updated_in_db_at":%d,"prev_updated_in_db_at":null}}`, ph.ID, p.ID, ms, ms, ms),
	}
	if len(lines) != len(want) {
		t.Fatalf("export:\n%s\nwant %d lines", buf.String(), len(want))
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d:\n got %s\nwant %s", i+1, lines[i], want[i])
		}
		if !json.Valid([]byte(lines[i])) {
			t.Errorf("line %d is not JSON", i+1)
		}
	}
	var got struct{ Attributes struct{ Name string } }
	if err := json.Unmarshal([]byte(lines[5]), &got); err != nil || got.Attributes.Name != weirdText {
		t.Errorf("name decodes to %q, %v; want %q", got.Attributes.Name, err, weirdText)
	}
}

// TestImportVersion1 imports a version 1 export, written before the write
// clock moved to the account lists: account lists without hw and a final
// database-wide write_clock line. Every account list gets that
// high-water mark, whichever batch holds which line, and new writes, with
// the clock behind it, are stamped no earlier.
func TestImportVersion1(t *testing.T) { forEachBackend(t, testImportVersion1) }

func testImportVersion1(t *testing.T) {
	const (
		al1, al2 = "0b7f0f8e-aaaa-4222-8333-944455556666", "0b7f0f8e-bbbb-4222-8333-944455556666"
		contact  = "0b7f0f8e-cccc-4222-8333-944455556666"
	)
	created := dbtest.Start.Truncate(time.Millisecond).UnixMilli()
	hw := created + int64(time.Hour/time.Millisecond) // ahead of every row and of the clock
	lines := []string{
		`{"type":"phoneapi-export","version":1,"engine":"sqlite","exported_at":"2024-03-04T05:06:07.890Z","counts":{"account_lists":2,"contacts":1,"deleted_records":0,"people":0,"phones":0,"settings":0,"users":1,"write_clock":1}}`,
		fmt.Sprintf(`{"type":"account_lists","id":%q,"attributes":{"created_at":%d}}`, al1, created),
		fmt.Sprintf(`{"type":"account_lists","id":%q,"attributes":{"created_at":%d}}`, al2, created),
		fmt.Sprintf(`{"type":"users","id":"u1","attributes":{"account_list_id":%q,"created_at":%d}}`, al1, created),
		fmt.Sprintf(`{"type":"contacts","id":%q,"attributes":{"account_list_id":%q,"name":"c","created_at":%d,"updated_at":%d,"updated_in_db_at":%d}}`,
			contact, al1, created, created, created+5),
		fmt.Sprintf(`{"type":"write_clock","id":1,"attributes":{"hw":%d}}`, hw),
	}
	input := strings.Join(lines, "\n") + "\n"
	for _, batch := range []int{importBatchRows, 1} {
		t.Run(fmt.Sprintf("batches of %d", batch), func(t *testing.T) {
			defer func(n int) { importBatchRows = n }(importBatchRows)
			importBatchRows = batch
			ctx := t.Context()
			s, _ := newStore(t)
			res, err := s.Import(ctx, strings.NewReader(input), nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.Tables["account_lists"] != 2 || res.Tables["users"] != 1 || res.Tables["contacts"] != 1 {
				t.Errorf("import result %+v", res)
			}
			if tableExists(t, s, "write_clock") {
				t.Error("import created write_clock")
			}
			for _, al := range []string{al1, al2} {
				if got := highWater(t, s, al); got.UnixMilli() != hw {
					t.Errorf("account list %s: write clock %v, want the export's %v", al, got, fromMillis(hw))
				}
			}
			c, err := s.UpdateContact(ctx, al1, contact, ContactUpdate{Name: ptr("d")}, nil)
			if err != nil {
				t.Fatal(err)
			}
			n, err := s.CreateContact(ctx, Contact{AccountListID: al2, Name: "n"})
			if err != nil {
				t.Fatal(err)
			}
			for _, at := range []time.Time{c.UpdatedInDBAt, n.UpdatedInDBAt} {
				if at.UnixMilli() < hw {
					t.Errorf("new write stamped %v, before the imported high-water mark %v", at, fromMillis(hw))
				}
			}
		})
	}
}

// TestImportVersion2 imports a version 2 export, written before the rows
// kept their previous version: as migration 0007 does, Import gives each
// contact, person and phone updated_in_db_at - 1 ms, the latest an earlier
// version can have been, so a whole-second precondition is refused for a
// row stored in the middle of a second and honoured for one stored at its
// first millisecond.
func TestImportVersion2(t *testing.T) { forEachBackend(t, testImportVersion2) }

func testImportVersion2(t *testing.T) {
	const (
		al            = "0b7f0f8e-aaaa-4222-8333-944455556666"
		cMid, cFirst  = "0b7f0f8e-cccc-4222-8333-944455556666", "0b7f0f8e-dddd-4222-8333-944455556666"
		person, phone = "0b7f0f8e-eeee-4222-8333-944455556666", "0b7f0f8e-ffff-4222-8333-944455556666"
	)
	mid := dbtest.Start.Truncate(time.Millisecond) // 05:06:07.890
	first := mid.Truncate(time.Second)             // 05:06:07.000
	m, f := mid.UnixMilli(), first.UnixMilli()
	lines := []string{
		`{"type":"phoneapi-export","version":2,"engine":"sqlite","exported_at":"2024-03-04T05:06:07.890Z","counts":{"account_lists":1,"contacts":2,"deleted_records":0,"people":1,"phones":1,"settings":0,"users":0}}`,
		fmt.Sprintf(`{"type":"account_lists","id":%q,"attributes":{"created_at":%d,"hw":%d}}`, al, f, m),
		fmt.Sprintf(`{"type":"contacts","id":%q,"attributes":{"account_list_id":%q,"name":"mid","created_at":%d,"updated_at":%d,"updated_in_db_at":%d}}`, cMid, al, f, f, m),
		fmt.Sprintf(`{"type":"contacts","id":%q,"attributes":{"account_list_id":%q,"name":"first","created_at":%d,"updated_at":%d,"updated_in_db_at":%d}}`, cFirst, al, f, f, f),
		fmt.Sprintf(`{"type":"people","id":%q,"attributes":{"contact_id":%q,"first_name":"p","last_name":null,"created_at":%d,"updated_at":%d,"updated_in_db_at":%d}}`, person, cMid, f, f, m),
		fmt.Sprintf(`{"type":"phones","id":%q,"attributes":{"person_id":%q,"number":"+12025550101","country_code":null,"location":null,"primary":true,"historic":false,"source":"MPDX","valid_values":true,"created_at":%d,"updated_at":%d,"updated_in_db_at":%d}}`, phone, person, f, f, m),
	}
	ctx := t.Context()
	s, clk := newStore(t)
	if _, err := s.Import(ctx, strings.NewReader(strings.Join(lines, "\n")+"\n"), nil); err != nil {
		t.Fatal(err)
	}
	wantPrev(t, s, "contacts", cMid, ptr(mid.Add(-time.Millisecond)))
	wantPrev(t, s, "contacts", cFirst, ptr(first.Add(-time.Millisecond)))
	wantPrev(t, s, "people", person, ptr(mid.Add(-time.Millisecond)))
	wantPrev(t, s, "phones", phone, ptr(mid.Add(-time.Millisecond)))

	clk.Add(time.Minute)
	second := &Precondition{At: first, Precision: time.Second}
	_, err := s.UpdateContact(ctx, al, cMid, ContactUpdate{Name: ptr("x")}, second)
	wantStale(t, err, mid)
	_, err = s.UpdatePhone(ctx, Scope{AccountListID: al, ContactID: cMid, PersonID: person}, phone, PhoneUpdate{Number: ptr("x")}, second)
	wantStale(t, err, mid)
	if _, err := s.UpdateContact(ctx, al, cFirst, ContactUpdate{Name: ptr("x")}, second); err != nil {
		t.Fatalf("a whole second whose first millisecond is the stored value: %v", err)
	}
}

func TestExportRejectsInvalidUTF8(t *testing.T) {
	ctx := t.Context()
	s := openStore(t)
	al := ensureUser(t, s, "0b7f0f8e-1111-4222-8333-944455556666")
	if _, err := s.CreateContact(ctx, Contact{AccountListID: al, Name: "x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool().ExecContext(ctx, `UPDATE contacts SET name = CAST(X'41FF' AS TEXT)`); err != nil {
		t.Fatal(err)
	}
	_, err := s.Export(ctx, &bytes.Buffer{}, nil)
	if err == nil || !strings.Contains(err.Error(), "not valid UTF-8") || !strings.Contains(err.Error(), "column name") {
		t.Errorf("err = %v, want a UTF-8 error naming the column", err)
	}
}

func TestExportReadsOneSnapshot(t *testing.T) { forEachBackend(t, testExportReadsOneSnapshot) }

// testExportReadsOneSnapshot writes while the export runs (from its
// progress callback, after 1000 rows): the export holds none of it and
// still matches its header's counts.
func testExportReadsOneSnapshot(t *testing.T) {
	ctx := t.Context()
	s := openStore(t)
	al := ensureUser(t, s, "0b7f0f8e-1111-4222-8333-944455556666")
	if _, err := s.Seed(ctx, SeedOptions{AccountListID: al, Contacts: 100, PeoplePerContact: 2, PhonesPerPerson: 5}); err != nil {
		t.Fatal(err)
	}
	before := dumpTables(t, s)
	lastPerson := before["people"][len(before["people"])-1]
	lastPhone := before["phones"][len(before["phones"])-1]
	wrote := false
	var buf bytes.Buffer
	_, err := s.Export(ctx, &buf, func(rows int) {
		if wrote {
			return
		}
		wrote = true
		// Not exported yet: the last person (cascading to its phones) and
		// a new contact.
		if err := s.DeletePerson(ctx, Scope{AccountListID: al, ContactID: lastPerson[1].(string)}, lastPerson[0].(string), nil); err != nil {
			t.Error(err)
		}
		if _, err := s.CreateContact(ctx, Contact{AccountListID: al, Name: "during export"}); err != nil {
			t.Error(err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if !wrote {
		t.Fatal("no progress callback mid-export")
	}
	if strings.Contains(buf.String(), "during export") || !strings.Contains(buf.String(), lastPhone[0].(string)) {
		t.Error("the export is not one snapshot")
	}
	after := openStore(t)
	if _, err := after.Import(ctx, &buf, nil); err != nil {
		t.Fatal(err)
	}
	sameTables(t, "snapshot", before, dumpTables(t, after))
}

func TestImportBadInput(t *testing.T) { forEachBackend(t, testImportBadInput) }

func testImportBadInput(t *testing.T) {
	ctx := t.Context()
	src := openSQLite(t, "src.db")
	al := ensureUser(t, src, "0b7f0f8e-1111-4222-8333-944455556666")
	if _, err := src.Seed(ctx, SeedOptions{AccountListID: al, Contacts: 2, PeoplePerContact: 1, PhonesPerPerson: 2}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := src.Export(ctx, &buf, nil); err != nil {
		t.Fatal(err)
	}
	good := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	// Lines: 1 header, 2 account_lists, 3 users, 4-5 contacts, 6-7 people,
	// 8-11 phones.
	if len(good) != 11 || !strings.Contains(good[1], `"hw":`) || !strings.Contains(good[4], `"type":"contacts"`) || !strings.Contains(good[5], `"type":"people"`) ||
		!strings.Contains(good[7], `"type":"phones"`) {
		t.Fatalf("unexpected export:\n%s", buf.String())
	}
	edit := func(f func(lines []string) []string) string {
		return strings.Join(f(slices.Clone(good)), "\n") + "\n"
	}
	replaceIn := func(i int, old, new string) string {
		return edit(func(l []string) []string {
			if !strings.Contains(l[i], old) {
				t.Fatalf("line %d %q lacks %q", i+1, l[i], old)
			}
			l[i] = strings.Replace(l[i], old, new, 1)
			return l
		})
	}
	editJSON := func(i int, f func(map[string]any)) string {
		return edit(func(l []string) []string {
			var v map[string]any
			if err := json.Unmarshal([]byte(l[i]), &v); err != nil {
				t.Fatal(err)
			}
			f(v)
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			l[i] = string(b)
			return l
		})
	}
	// lineID returns the id of a line of the good export.
	lineID := func(i int) string {
		var l struct{ ID string }
		if err := json.Unmarshal([]byte(good[i]), &l); err != nil {
			t.Fatal(err)
		}
		return l.ID
	}
	for _, tt := range []struct {
		name, input, want string
	}{
		{"empty", "", "empty input"},
		{"not JSON", "hello\n" + buf.String(), "line 1: not a phoneapi export"},
		{"no header", edit(func(l []string) []string { return l[1:] }), "line 1: not a phoneapi export"},
		{"version", replaceIn(0, fmt.Sprintf(`"version":%d`, ExportVersion), fmt.Sprintf(`"version":%d`, ExportVersion+1)),
			fmt.Sprintf("line 1: export format version %d is not supported: this phoneapi reads versions 1 to %d", ExportVersion+1, ExportVersion)},
		{"version 1 without write_clock", replaceIn(0, fmt.Sprintf(`"version":%d`, ExportVersion), `"version":1`),
			"line 1: header: counts: missing write_clock"},
		{"version 1 with hw", edit(func(l []string) []string {
			l[0] = strings.Replace(strings.Replace(l[0], fmt.Sprintf(`"version":%d`, ExportVersion), `"version":1`, 1),
				`"counts":{`, `"counts":{"write_clock":1,`, 1)
			return append(l, `{"type":"write_clock","id":1,"attributes":{"hw":1}}`)
		}), `line 2: account_lists ` + lineID(1) + `: unknown attribute "hw"`},
		{"write_clock in the current version", replaceIn(0, `"counts":{`, `"counts":{"write_clock":1,`), `line 1: header: counts: unknown table "write_clock"`},
		{"write_clock line in the current version", edit(func(l []string) []string {
			return append(l, `{"type":"write_clock","id":1,"attributes":{"hw":1}}`)
		}), `line 12: unknown type "write_clock"`},
		{"missing hw", editJSON(1, func(v map[string]any) { delete(v["attributes"].(map[string]any), "hw") }),
			`line 2: account_lists ` + lineID(1) + `: missing attribute "hw"`},
		{"fractional hw", replaceIn(1, `"hw":`, `"hw":1.5,"w":`), `line 2: account_lists ` + lineID(1) + `: attribute "hw": want an integer`},
		{"no counts", replaceIn(0, `"counts"`, `"kounts"`), `line 1: header: missing "counts"`},
		{"bad JSON", replaceIn(4, `{"type"`, `{"type`), "line 5: invalid JSON"},
		{"trailing data", replaceIn(4, `}}`, `}} x`), "line 5: invalid JSON"},
		{"empty line", edit(func(l []string) []string { return slices.Insert(l, 3, "") }), "line 4: empty line"},
		{"unknown type", replaceIn(4, `"type":"contacts"`, `"type":"contact"`), `line 5: unknown type "contact"`},
		{"unknown field", replaceIn(4, `"type":"contacts"`, `"type":"contacts","extra":1`), `line 5: invalid JSON: json: unknown field "extra"`},
		{"missing attribute", replaceIn(4, `"name":`, `"nome":`), `line 5: contacts ` + lineID(4) + `: missing attribute "name"`},
		{"unknown attribute", replaceIn(4, `"name":`, `"nickname":"x","name":`), `unknown attribute "nickname"`},
		{"missing id", editJSON(4, func(v map[string]any) { delete(v, "id") }), `line 5: contacts: missing "id"`},
		{"numeric id", editJSON(4, func(v map[string]any) { v["id"] = 7 }), `line 5: contacts: id: want a string`},
		{"missing attributes", editJSON(4, func(v map[string]any) { delete(v, "attributes") }), `line 5: contacts ` + lineID(4) + `: missing "attributes"`},
		{"null name", editJSON(4, func(v map[string]any) { v["attributes"].(map[string]any)["name"] = nil }),
			`line 5: contacts ` + lineID(4) + `: attribute "name": want a string`},
		{"string last name", editJSON(5, func(v map[string]any) { v["attributes"].(map[string]any)["last_name"] = 1 }),
			`line 6: people ` + lineID(5) + `: attribute "last_name": want a string or null`},
		{"string time", replaceIn(4, `"created_at":`, `"created_at":"1"`+`,"x":`), `line 5: contacts ` + lineID(4) + `: attribute "created_at": want an integer`},
		{"fractional time", replaceIn(1, `"created_at":`, `"created_at":0.5,"y":`), `line 2: account_lists ` + lineID(1) + `: attribute "created_at": want an integer`},
		{"invalid UTF-8", replaceIn(4, `"name":"`, "\"name\":\"\xff"), `line 5: contacts ` + lineID(4) + `: attribute "name": text is not valid UTF-8`},
		// An export of an older SQLite database may hold U+0000, which
		// PostgreSQL cannot store: refused alike on both engines.
		{"NUL in text", replaceIn(4, `"name":"`, `"name":"a\u0000`), `line 5: contacts ` + lineID(4) + `: attribute "name": text contains U+0000`},
		{"NUL in nullable text", replaceIn(7, `"location":"`, `"location":"\u0000`), `line 8: phones ` + lineID(7) + `: attribute "location": text contains U+0000`},
		{"NUL in id", replaceIn(4, `"id":"`, `"id":"\u0000`), `line 5: contacts: id: text contains U+0000`},
		{"plus integer", replaceIn(1, `"created_at":`, `"created_at":+1,"z":`), `line 2: invalid JSON`},
		{"missing prev", editJSON(4, func(v map[string]any) { delete(v["attributes"].(map[string]any), "prev_updated_in_db_at") }),
			`line 5: contacts ` + lineID(4) + `: missing attribute "prev_updated_in_db_at"`},
		{"string prev", replaceIn(4, `"prev_updated_in_db_at":null`, `"prev_updated_in_db_at":"1"`),
			`line 5: contacts ` + lineID(4) + `: attribute "prev_updated_in_db_at": want an integer (unix milliseconds for times) or null`},
		{"prev not before updated_in_db_at", editJSON(4, func(v map[string]any) {
			a := v["attributes"].(map[string]any)
			a["prev_updated_in_db_at"] = a["updated_in_db_at"]
		}), "line 5: contacts " + lineID(4) + ": "},
		{"prev in version 2", replaceIn(0, fmt.Sprintf(`"version":%d`, ExportVersion), `"version":2`),
			`line 4: contacts ` + lineID(3) + `: unknown attribute "prev_updated_in_db_at"`},
		{"number boolean", replaceIn(7, `"primary":true`, `"primary":1`), `line 8: phones ` + lineID(7) + `: attribute "primary": want true or false`},
		{"out of order", edit(func(l []string) []string { l[4], l[5] = l[5], l[4]; return l }), "line 6: contacts after people"},
		{"truncated", edit(func(l []string) []string { return l[:10] }), "incomplete export: the header counts 4 phones rows, the input has 3"},
		{"extra row", edit(func(l []string) []string { return append(l, l[10]) }), "line 12: more phones rows than the header's 4"},
		{"missing parent", replaceIn(5, `"contact_id":"`, `"contact_id":"f`), "line 6: people "},
		{"duplicate id", edit(func(l []string) []string {
			l[0] = strings.Replace(l[0], `"phones":4`, `"phones":5`, 1)
			return slices.Insert(l, 9, l[8])
		}), "line 10: phones " + lineID(8) + ": a row with this id exists already"},
		{"check violation", replaceIn(7, `"historic":false`, `"historic":true`), "line 8: phones " + lineID(7) + ": "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dst := openStore(t)
			_, err := dst.Import(ctx, strings.NewReader(tt.input), nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			t.Log(err)
			// Nothing committed: every batch is one here.
			for _, table := range []string{"account_lists", "contacts", "phones"} {
				wantCount(t, dst, 0, `SELECT COUNT(*) FROM `+table)
			}
		})
	}

	t.Run("not empty", func(t *testing.T) {
		dst := openStore(t)
		if _, err := dst.Import(ctx, strings.NewReader(buf.String()), nil); err != nil {
			t.Fatal(err)
		}
		_, err := dst.Import(ctx, strings.NewReader(buf.String()), nil)
		if err == nil || !strings.Contains(err.Error(), "not empty (it has account_lists, users, contacts, people, phones)") {
			t.Fatalf("second import: %v", err)
		}
		only := openStore(t)
		if _, err := only.InitSetting(ctx, "jwt_secret", "x"); err != nil {
			t.Fatal(err)
		}
		_, err = only.Import(ctx, strings.NewReader(buf.String()), nil)
		if err == nil || !strings.Contains(err.Error(), "not empty (it has settings)") {
			t.Fatalf("import into a database with a setting: %v", err)
		}
	})

	t.Run("later batch fails", func(t *testing.T) {
		defer func(n int) { importBatchRows = n }(importBatchRows)
		importBatchRows = 3
		dst := openStore(t)
		_, err := dst.Import(ctx, strings.NewReader(replaceIn(9, `"person_id":"`, `"person_id":"0`)), nil)
		if err == nil || !strings.Contains(err.Error(), "line 10: phones "+lineID(9)+": refers to a row that does not exist") {
			t.Fatalf("err = %v", err)
		}
		// Lines 2-7 were committed in two batches; 8-10 were not.
		wantCount(t, dst, 2, `SELECT COUNT(*) FROM people`)
		wantCount(t, dst, 0, `SELECT COUNT(*) FROM phones`)
	})

	t.Run("later bad line", func(t *testing.T) {
		defer func(n int) { importBatchRows = n }(importBatchRows)
		importBatchRows = 3
		bad := replaceIn(9, `"location":"`, `"location":"\u0000`)
		want := "line 10: phones " + lineID(9) + `: attribute "location": text contains U+0000`
		// From a file (an io.Seeker): every line is checked first, so
		// nothing is written.
		dst := openStore(t)
		_, err := dst.Import(ctx, strings.NewReader(bad), nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("err = %v, want %q", err, want)
		}
		for _, table := range []string{"account_lists", "contacts", "people", "phones"} {
			wantCount(t, dst, 0, `SELECT COUNT(*) FROM `+table)
		}
		// From a stream, lines 2-7 were committed in two batches before
		// line 10 was read.
		dst = openStore(t)
		_, err = dst.Import(ctx, io.MultiReader(strings.NewReader(bad)), nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("stream: err = %v, want %q", err, want)
		}
		wantCount(t, dst, 2, `SELECT COUNT(*) FROM people`)
		wantCount(t, dst, 0, `SELECT COUNT(*) FROM phones`)
	})

	t.Run("cancelled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := openStore(t).Import(cctx, strings.NewReader(buf.String()), nil); err == nil {
			t.Error("import with a cancelled context succeeded")
		}
	})
}
