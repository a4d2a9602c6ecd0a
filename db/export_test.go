package db

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// openSQLiteAt opens and migrates a SQLite store at a new file, whatever
// the test's backend.
func openSQLiteAt(t *testing.T, name string) *Store {
	t.Helper()
	s := openDB(t, filepath.Join(t.TempDir(), name))
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

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
	c := &clock{t: start}
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
	p1, err := s.CreatePerson(ctx, Person{ContactID: c1.ID, FirstName: "No", LastName: nil})
	must(err)
	tick()
	p2, err := s.CreatePerson(ctx, Person{ContactID: c1.ID, FirstName: "Ann", LastName: ptr("O'Brien")})
	must(err)
	tick()
	p3, err := s.CreatePerson(ctx, Person{ContactID: c2.ID, FirstName: "Gone", LastName: ptr("")})
	must(err)
	tick()
	p4, err := s.CreatePerson(ctx, Person{ContactID: c3.ID, FirstName: "Deleted", LastName: ptr("Later")})
	must(err)
	tick()
	_, err = s.CreatePhone(ctx, NewPhone{PersonID: p1.ID, Number: "+12025550101", Primary: true})
	must(err)
	tick()
	_, err = s.CreatePhone(ctx, NewPhone{PersonID: p1.ID, Number: "+442079460000", CountryCode: ptr("44"),
		Location: ptr("home"), Historic: true, Source: "Siebel", ValidValues: ptr(false)})
	must(err)
	tick()
	ph3, err := s.CreatePhone(ctx, NewPhone{PersonID: p1.ID, Number: "+12025550102", CountryCode: ptr("1"), Location: ptr(weirdText)})
	must(err)
	tick()
	ph4, err := s.CreatePhone(ctx, NewPhone{PersonID: p2.ID, Number: "+12025550103", Primary: true})
	must(err)
	tick()
	for _, pid := range []string{p3.ID, p4.ID, p4.ID} {
		_, err := s.CreatePhone(ctx, NewPhone{PersonID: pid, Number: "+12025550199"})
		must(err)
		tick()
	}
	// Updates: the primary moves from ph1 to ph3 (fix-up), names change.
	_, err = s.UpdatePhone(ctx, p1.ID, ph3.ID, PhoneUpdate{Primary: ptr(true), Location: Patch[string]{Set: true}}, nil)
	must(err)
	tick()
	_, err = s.UpdateContact(ctx, c2.ID, ContactUpdate{Name: ptr("Zed Renamed"), UpdatedAt: ptr(old)}, nil)
	must(err)
	tick()
	_, err = s.UpdatePerson(ctx, c1.ID, p2.ID, PersonUpdate{LastName: Patch[string]{Set: true}}, nil)
	must(err)
	tick()
	// Deletes of each kind leave tombstones.
	must(s.DeletePhone(ctx, p2.ID, ph4.ID, nil))
	tick()
	must(s.DeletePerson(ctx, c2.ID, p3.ID, nil))
	tick()
	must(s.DeleteContact(ctx, c3.ID, nil))
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
// cover.
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
	names = slices.DeleteFunc(names, func(n string) bool { return n == "schema_migrations" })
	want := ExportTables()
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Fatalf("tables %v, export covers %v", names, want)
	}
	out := make(map[string][][]any)
	for _, name := range names {
		rows, err := s.pool().QueryContext(ctx, `SELECT * FROM `+name+` ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		cols, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		tbl := exportTables[exportTableIndex[name]]
		var wantCols []string
		for _, c := range append([]column{tbl.key}, tbl.attrs...) {
			wantCols = append(wantCols, c.name)
		}
		if !slices.Equal(cols, wantCols) {
			t.Fatalf("%s: columns %v, export covers %v", name, cols, wantCols)
		}
		var all [][]any
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				switch v := v.(type) {
				case []byte:
					vals[i] = string(v)
				case bool:
					vals[i] = int64(0)
					if v {
						vals[i] = int64(1)
					}
				case int32:
					vals[i] = int64(v)
				case int:
					vals[i] = int64(v)
				case string, int64, nil:
				default:
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
	src := openSQLiteAt(t, "src.db")
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
	back := openSQLiteAt(t, "back.db")
	if _, err := back.Import(ctx, &second, nil); err != nil {
		t.Fatal(err)
	}
	sameTables(t, "SQLite → "+dst.Engine()+" → SQLite", want, dumpTables(t, back))

	// The copy works as a store: the secret, the tombstones, and the write
	// clock, which stamps the next write after every copied one.
	if v, err := dst.Setting(ctx, "weird"); err != nil || v != weirdText {
		t.Errorf("setting weird = %q, %v", v, err)
	}
	var hw int64
	if err := dst.pool().QueryRowContext(ctx, `SELECT hw FROM write_clock WHERE id = 1`).Scan(&hw); err != nil {
		t.Fatal(err)
	}
	al := want["users"][0][1].(string)
	c, err := dst.CreateContact(ctx, Contact{AccountListID: al, Name: "new"})
	if err != nil {
		t.Fatal(err)
	}
	if c.UpdatedInDBAt.UnixMilli() <= hw {
		t.Errorf("new write stamped %d, not after the copied high-water mark %d", c.UpdatedInDBAt.UnixMilli(), hw)
	}
}

func TestExportFormat(t *testing.T) {
	ctx := t.Context()
	s, c := newStore(t)
	al, err := s.EnsureUser(ctx, "0b7f0f8e-1111-4222-8333-944455556666")
	if err != nil {
		t.Fatal(err)
	}
	ct, err := s.CreateContact(ctx, Contact{AccountListID: al, Name: weirdText})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.CreatePerson(ctx, Person{ContactID: ct.ID, FirstName: "A"})
	if err != nil {
		t.Fatal(err)
	}
	ph, err := s.CreatePhone(ctx, NewPhone{PersonID: p.ID, Number: "+12025550101", Primary: true})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := s.Export(ctx, &buf, nil); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	ms := c.nowMS().UnixMilli()
	want := []string{
		`{"type":"phoneapi-export","version":1,"engine":"sqlite","exported_at":"2024-03-04T05:06:07.890Z","counts":{"account_lists":1,"contacts":1,"deleted_records":0,"people":1,"phones":1,"settings":0,"users":1,"write_clock":1}}`,
		fmt.Sprintf(`{"type":"account_lists","id":%q,"attributes":{"created_at":%d}}`, al, ms),
		fmt.Sprintf(`{"type":"users","id":"0b7f0f8e-1111-4222-8333-944455556666","attributes":{"account_list_id":%q,"created_at":%d}}`, al, ms),
		fmt.Sprintf(`{"type":"contacts","id":%q,"attributes":{"account_list_id":%q,"name":"q\"b\\s/n\nr\rt\tc\u0001\u001f<>&`+"\u2028\u2029 é 😀 '?' $1"+`","created_at":%d,"updated_at":%d,"updated_in_db_at":%d}}`, ct.ID, al, ms, ms, ms),
		fmt.Sprintf(`{"type":"people","id":%q,"attributes":{"contact_id":%q,"first_name":"A","last_name":null,"created_at":%d,"updated_at":%d,"updated_in_db_at":%d}}`, p.ID, ct.ID, ms, ms, ms),
		fmt.Sprintf(`{"type":"phones","id":%q,"attributes":{"person_id":%q,"number":"+12025550101","country_code":null,"location":null,"primary":true,"historic":false,"source":"MPDX","valid_values":true,"created_at":%d,"updated_at":%d,"updated_in_db_at":%d}}`, ph.ID, p.ID, ms, ms, ms),
		fmt.Sprintf(`{"type":"write_clock","id":1,"attributes":{"hw":%d}}`, ms),
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
	if err := json.Unmarshal([]byte(lines[3]), &got); err != nil || got.Attributes.Name != weirdText {
		t.Errorf("name decodes to %q, %v; want %q", got.Attributes.Name, err, weirdText)
	}
}

func TestExportRejectsInvalidUTF8(t *testing.T) {
	ctx := t.Context()
	s := openStore(t)
	al, err := s.EnsureUser(ctx, "0b7f0f8e-1111-4222-8333-944455556666")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateContact(ctx, Contact{AccountListID: al, Name: "x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool().ExecContext(ctx, `UPDATE contacts SET name = CAST(X'41FF' AS TEXT)`); err != nil {
		t.Fatal(err)
	}
	_, err = s.Export(ctx, &bytes.Buffer{}, nil)
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
	al, err := s.EnsureUser(ctx, "0b7f0f8e-1111-4222-8333-944455556666")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Seed(ctx, SeedOptions{AccountListID: al, Contacts: 100, PeoplePerContact: 2, PhonesPerPerson: 5}); err != nil {
		t.Fatal(err)
	}
	before := dumpTables(t, s)
	lastPerson := before["people"][len(before["people"])-1]
	lastPhone := before["phones"][len(before["phones"])-1]
	wrote := false
	var buf bytes.Buffer
	_, err = s.Export(ctx, &buf, func(rows int) {
		if wrote {
			return
		}
		wrote = true
		// Not exported yet: the last person (cascading to its phones) and
		// a new contact.
		if err := s.DeletePerson(ctx, lastPerson[1].(string), lastPerson[0].(string), nil); err != nil {
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
	src := openSQLiteAt(t, "src.db")
	al, err := src.EnsureUser(ctx, "0b7f0f8e-1111-4222-8333-944455556666")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Seed(ctx, SeedOptions{AccountListID: al, Contacts: 2, PeoplePerContact: 1, PhonesPerPerson: 2}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := src.Export(ctx, &buf, nil); err != nil {
		t.Fatal(err)
	}
	good := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	// Lines: 1 header, 2 account_lists, 3 users, 4-5 contacts, 6-7 people,
	// 8-11 phones, 12 write_clock.
	if len(good) != 12 || !strings.Contains(good[4], `"type":"contacts"`) || !strings.Contains(good[5], `"type":"people"`) ||
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
		{"version", replaceIn(0, `"version":1`, `"version":2`), "line 1: export format version 2 is not supported"},
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
		{"plus integer", replaceIn(1, `"created_at":`, `"created_at":+1,"z":`), `line 2: invalid JSON`},
		{"number boolean", replaceIn(7, `"primary":true`, `"primary":1`), `line 8: phones ` + lineID(7) + `: attribute "primary": want true or false`},
		{"out of order", edit(func(l []string) []string { l[4], l[5] = l[5], l[4]; return l }), "line 6: contacts after people"},
		{"truncated", edit(func(l []string) []string { return l[:11] }), "incomplete export: the header counts 1 write_clock rows, the input has 0"},
		{"extra row", edit(func(l []string) []string { return append(l, l[11]) }), "line 13: more write_clock rows than the header's 1"},
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
				if n := count(t, dst, `SELECT COUNT(*) FROM `+table); n != 0 {
					t.Errorf("%d %s after a failed import", n, table)
				}
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
		if n := count(t, dst, `SELECT COUNT(*) FROM people`); n != 2 {
			t.Errorf("%d people committed, want 2", n)
		}
		if n := count(t, dst, `SELECT COUNT(*) FROM phones`); n != 0 {
			t.Errorf("%d phones committed, want 0", n)
		}
	})

	t.Run("cancelled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := openStore(t).Import(cctx, strings.NewReader(buf.String()), nil); err == nil {
			t.Error("import with a cancelled context succeeded")
		}
	})
}
