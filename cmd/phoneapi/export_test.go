package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/phoneapi/phoneapi/db"
)

// dataTables are the tables export and import copy.
var dataTables = []string{"account_lists", "users", "settings", "contacts", "people", "phones", "deleted_records"}

// readTables reads every row of every data table of the database at dsn
// (a SQLite file or a PostgreSQL URL) with SELECT *, ordered by the
// primary key, timestamps and all; booleans become 0 or 1 and integers
// int64 so that both engines compare equal. It fails if the database has
// a table that is not in dataTables (schema_migrations and
// idempotency_keys aside).
func readTables(t *testing.T, dsn string) map[string][][]any {
	t.Helper()
	ctx := context.Background()
	driver, catalog := "sqlite3", `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`
	if db.IsPostgresURL(dsn) {
		driver, catalog = "pgx", `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name`
	} else {
		dsn = "file:" + dsn + "?mode=ro"
	}
	conn, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var names []string
	rows, err := conn.QueryContext(ctx, catalog)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != "schema_migrations" && n != "idempotency_keys" { // not exported (see db's exportTables)
			names = append(names, n)
		}
	}
	rows.Close()
	want := slices.Sorted(slices.Values(dataTables))
	if !slices.Equal(names, want) {
		t.Fatalf("%s has tables %v, want %v", dsn, names, want)
	}
	out := make(map[string][][]any)
	for _, name := range dataTables {
		rows, err := conn.QueryContext(ctx, `SELECT * FROM `+name+` ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals, err := scanComparable(rows, len(cols))
			if err != nil {
				t.Fatal(err)
			}
			out[name] = append(out[name], append([]any{strings.Join(cols, ",")}, vals...))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	return out
}

// scanComparable scans the n columns of the current row as the driver
// returns them, then as both engines compare equal: text as a string, a
// boolean as 0 or 1, an int32 as int64.
func scanComparable(rows *sql.Rows, n int) ([]any, error) {
	dest := make([]any, n)
	for i := range dest {
		dest[i] = new(any)
	}
	if err := rows.Scan(dest...); err != nil {
		return nil, err
	}
	vals := make([]any, n)
	for i, d := range dest {
		switch v := (*d.(*any)).(type) {
		case []byte:
			vals[i] = string(v)
		case bool:
			vals[i] = map[bool]int64{false: 0, true: 1}[v]
		case int32:
			vals[i] = int64(v)
		default:
			vals[i] = v
		}
	}
	return vals, nil
}

// sameRows fails the test where two databases' rows differ.
func sameRows(t *testing.T, what string, want, got map[string][][]any) {
	t.Helper()
	for _, name := range dataTables {
		a, b := want[name], got[name]
		if len(a) != len(b) {
			t.Errorf("%s: %d %s rows, want %d", what, len(b), name, len(a))
			continue
		}
		for i := range a {
			if !reflect.DeepEqual(a[i], b[i]) {
				t.Errorf("%s: %s row %d is %v, want %v", what, name, i, b[i], a[i])
				break
			}
		}
	}
}

// seedWithChanges seeds the SQLite file at path through the CLI, has
// token generate and keep the JWT secret, then deletes (leaving
// tombstones of every kind) and updates a few rows through the store.
func seedWithChanges(t *testing.T, path string) {
	t.Helper()
	ctx := context.Background()
	const user = "0b7f0f8e-1111-4222-8333-944455556666"
	if err := run(ctx, []string{"seed", "--db", path, "--contacts", "20", "--people-per-contact", "2", "--phones-per-person", "3", "--user", user},
		env(nil), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := run(ctx, []string{"token", "--db", path, "--user", user}, env(nil), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	s, err := db.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	al, err := s.EnsureUser(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	contacts, _, err := s.ListContacts(ctx, al, db.ListQuery{Sort: "name"})
	if err != nil {
		t.Fatal(err)
	}
	peopleOf := func(c db.Contact) []db.Person {
		people, _, err := s.ListPeople(ctx, db.Scope{AccountListID: c.AccountListID, ContactID: c.ID}, db.ListQuery{})
		if err != nil {
			t.Fatal(err)
		}
		return people
	}
	phonesOf := func(p db.Person) []db.Phone {
		phones, _, err := s.ListPhones(ctx, db.Scope{AccountListID: al, ContactID: p.ContactID, PersonID: p.ID}, db.ListQuery{})
		if err != nil {
			t.Fatal(err)
		}
		return phones
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// in returns the Scope of c's people, or of the phones of c's person p.
	in := func(c db.Contact, p ...db.Person) db.Scope {
		sc := db.Scope{AccountListID: al, ContactID: c.ID}
		if len(p) > 0 {
			sc.PersonID = p[0].ID
		}
		return sc
	}
	// Deletes: a contact (cascading), a person, a phone.
	must(s.DeleteContact(ctx, al, contacts[0].ID, nil))
	p1 := peopleOf(contacts[1])
	must(s.DeletePerson(ctx, in(contacts[1]), p1[0].ID, nil))
	phones := phonesOf(p1[1])
	must(s.DeletePhone(ctx, in(contacts[1], p1[1]), phones[2].ID, nil))
	// Updates: a new primary (demoting the old one), a name, a NULL last
	// name, NULL phone columns.
	p2 := peopleOf(contacts[2])
	phones = phonesOf(p2[0])
	_, err = s.UpdatePhone(ctx, in(contacts[2], p2[0]), phones[1].ID, db.PhoneUpdate{Primary: ptr(true),
		CountryCode: db.Patch[string]{Set: true}, Location: db.Patch[string]{Set: true}}, nil)
	must(err)
	_, err = s.UpdateContact(ctx, al, contacts[3].ID, db.ContactUpdate{Name: ptr("Renamed \"quoted\" \\ é")}, nil)
	must(err)
	_, err = s.UpdatePerson(ctx, in(contacts[3]), peopleOf(contacts[3])[0].ID, db.PersonUpdate{LastName: db.Patch[string]{Set: true}}, nil)
	must(err)
}

// TestExportImportPostgresRoundTrip moves a SQLite database with deletes
// and updates to PostgreSQL and back to a new SQLite file through the
// commands, and compares every row of every table.
func TestExportImportPostgresRoundTrip(t *testing.T) {
	pg := pgDatabase(t)
	ctx := context.Background()
	dir := t.TempDir()
	first, last := filepath.Join(dir, "first.db"), filepath.Join(dir, "last.db")
	seedWithChanges(t, first)
	want := readTables(t, first)
	if len(want["deleted_records"]) < 10 || len(want["settings"]) != 1 || len(want["phones"]) < 100 {
		t.Fatalf("fixture: %d tombstones, %d settings, %d phones", len(want["deleted_records"]), len(want["settings"]), len(want["phones"]))
	}

	// SQLite → file → PostgreSQL.
	file1 := filepath.Join(dir, "first.jsonl")
	var stdout, stderr bytes.Buffer
	if err := run(ctx, []string{"export", "--db", first, "--out", file1}, env(nil), &stdout, &stderr); err != nil {
		t.Fatalf("export: %v (stderr %q)", err, stderr.String())
	}
	total := 0
	for _, rows := range want {
		total += len(rows)
	}
	if !strings.Contains(stdout.String(), fmt.Sprintf("exported %d rows (account_lists 1, users 1, settings 1, contacts 19,", total)) ||
		!strings.Contains(stdout.String(), "to "+file1) {
		t.Errorf("export stdout %q", stdout.String())
	}
	if !strings.Contains(stderr.String(), fmt.Sprintf("export: %d rows done, ", total)) {
		t.Errorf("export stderr %q lacks the final progress line", stderr.String())
	}
	stdout.Reset()
	stderr.Reset()
	if err := run(ctx, []string{"import", "--in", file1}, env(map[string]string{"PHONEAPI_DB": pg}), &stdout, &stderr); err != nil {
		t.Fatalf("import: %v (stderr %q)", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), fmt.Sprintf("imported %d rows", total)) || !strings.Contains(stdout.String(), "into postgres://") {
		t.Errorf("import stdout %q", stdout.String())
	}
	if !strings.Contains(stderr.String(), fmt.Sprintf("import: %d rows done, ", total)) {
		t.Errorf("import stderr %q lacks the final progress line", stderr.String())
	}
	sameRows(t, "SQLite → PostgreSQL", want, readTables(t, pg))

	// PostgreSQL → standard output → standard input → a new SQLite file.
	var file2 bytes.Buffer
	stderr.Reset()
	if err := run(ctx, []string{"export", "--db", pg}, env(nil), &file2, &stderr); err != nil {
		t.Fatalf("export: %v (stderr %q)", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), fmt.Sprintf("exported %d rows", total)) {
		t.Errorf("export to stdout: stderr %q lacks the summary", stderr.String())
	}
	exported, err := os.ReadFile(file1)
	if err != nil {
		t.Fatal(err)
	}
	_, body1, _ := strings.Cut(string(exported), "\n")
	_, body2, _ := strings.Cut(file2.String(), "\n")
	if body1 != body2 {
		t.Error("PostgreSQL's export differs from SQLite's (header aside)")
	}
	defer func(r io.Reader) { stdin = r }(stdin)
	stdin = &file2
	if err := run(ctx, []string{"import", "--db", last}, env(nil), io.Discard, io.Discard); err != nil {
		t.Fatalf("import: %v", err)
	}
	sameRows(t, "SQLite → PostgreSQL → SQLite", want, readTables(t, last))

	// Importing again into a database with data fails.
	err = run(ctx, []string{"import", "--db", pg, "--in", file1}, env(nil), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("second import: %v", err)
	}
}

func TestExportImportSQLite(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src.db"), "sqlite:"+filepath.Join(dir, "dst.db")
	seedWithChanges(t, src)
	var out, stderr bytes.Buffer
	if err := run(ctx, []string{"export", "--db", src, "--out", "-"}, env(nil), &out, &stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), fmt.Sprintf(`{"type":"phoneapi-export","version":%d,`, db.ExportVersion)) || strings.Contains(out.String(), "\nexported ") || !strings.Contains(stderr.String(), "exported ") {
		t.Errorf("stdout is not just the export: %.200q", out.String())
	}
	exported := out.String()
	defer func(r io.Reader) { stdin = r }(stdin)
	stdin = strings.NewReader(exported)
	if err := run(ctx, []string{"import"}, env(map[string]string{"PHONEAPI_DB": dst}), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	sameRows(t, "SQLite → SQLite", readTables(t, src), readTables(t, strings.TrimPrefix(dst, "sqlite:")))

	badFile := filepath.Join(dir, "bad.jsonl")
	lines := strings.SplitAfter(exported, "\n")
	if err := os.WriteFile(badFile, []byte(lines[0]+lines[1]+"{nope\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.db")
	for _, tt := range []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"stray argument", []string{"export", "--db", src, "x"}, 2, `unexpected argument "x"`},
		{"unknown flag", []string{"import", "--out", "x"}, 2, "flag provided but not defined: --out"},
		{"missing source", []string{"export", "--db", missing}, 1, "no such file"},
		{"missing input", []string{"import", "--db", filepath.Join(dir, "new.db"), "--in", filepath.Join(dir, "nope.jsonl")}, 1, "no such file"},
		{"bad line", []string{"import", "--db", filepath.Join(dir, "bad.db"), "--in", badFile}, 1, "line 3: invalid JSON"},
		{"not empty", []string{"import", "--db", src, "--in", badFile}, 1, "not empty"},
		{"unwritable output", []string{"export", "--db", src, "--out", filepath.Join(dir, "no", "such", "dir.jsonl")}, 1, "no such file"},
		{"help", []string{"export", "--help"}, 0, ""}, // on stdout: TestHelpOnStdout
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			code := exitCode(run(ctx, tt.args, env(nil), io.Discard, &stderr), &stderr)
			if code != tt.wantCode || !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr.String(), tt.wantCode, tt.wantErr)
			}
		})
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("export of a missing SQLite file created it")
	}
	var usageOut bytes.Buffer
	if err := run(ctx, []string{"help"}, env(nil), &usageOut, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"phoneapi export  [--db DB] [--out FILE|-]", "phoneapi import  [--db DB] [--in FILE|-]"} {
		if !strings.Contains(usageOut.String(), want) {
			t.Errorf("usage lacks %q", want)
		}
	}
}

// TestImportRefusesNUL: a SQLite database written before the store
// refused U+0000 may hold it in text (here put there with raw SQL). Its
// export carries it as \u0000; import refuses it, naming the table, the
// row's id and the column, and writes nothing, into SQLite and PostgreSQL
// (which cannot store it) alike.
func TestImportRefusesNUL(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "old.db")
	if err := run(ctx, []string{"seed", "--db", src, "--contacts", "2", "--people-per-contact", "1", "--phones-per-person", "2",
		"--user", "0b7f0f8e-1111-4222-8333-944455556666"}, env(nil), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite3", src)
	if err != nil {
		t.Fatal(err)
	}
	var id string
	if err := raw.QueryRowContext(ctx, `SELECT id FROM phones ORDER BY id LIMIT 1`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.ExecContext(ctx, `UPDATE phones SET location = ? WHERE id = ?`, "a\x00b", id); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	file := filepath.Join(dir, "old.jsonl")
	if err := run(ctx, []string{"export", "--db", src, "--out", file}, env(nil), io.Discard, io.Discard); err != nil {
		t.Fatalf("export: %v", err)
	}
	if b, err := os.ReadFile(file); err != nil || !strings.Contains(string(b), `"location":"a\u0000b"`) {
		t.Fatalf("the export does not carry the NUL (%v)", err)
	}
	want := fmt.Sprintf(`phones %s: attribute "location": text contains U+0000`, id)
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			dst := filepath.Join(dir, "new.db")
			if engine == "postgres" {
				dst = pgDatabase(t)
			}
			var stderr bytes.Buffer
			code := exitCode(run(ctx, []string{"import", "--db", dst, "--in", file}, env(nil), io.Discard, &stderr), &stderr)
			if code != 1 || !strings.Contains(stderr.String(), want) {
				t.Fatalf("exit %d, stderr %q; want 1 and %q", code, stderr.String(), want)
			}
			for table, rows := range readTables(t, dst) {
				if len(rows) > 0 {
					t.Errorf("the failed import wrote %d %s rows", len(rows), table)
				}
			}
		})
	}
}
