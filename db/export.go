package db

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Export and import copy a whole database, between engines or to a new
// file of the same engine, through a stream of JSON Lines:
//
//	{"type":"phoneapi-export","version":2,"engine":"sqlite","exported_at":"2024-03-04T05:06:07.890Z","counts":{"account_lists":1,...}}
//	{"type":"account_lists","id":"…","attributes":{"created_at":1709528767890,"hw":1709528767890}}
//	{"type":"contacts","id":"…","attributes":{"account_list_id":"…","name":"Smith","created_at":…,"updated_at":…,"updated_in_db_at":…,"prev_updated_in_db_at":null}}
//	…
//
// The first line is the header: the format version, where the data came
// from, and how many rows of each table follow. Then comes one line per
// row, table after table, parents before children (ExportTables), each
// table in primary key order: "type" names the table, "id" holds the
// primary key (the key column for settings) and "attributes" every other
// column, by column name. Values are stored values, unconverted: text as
// JSON strings, NULL as null, timestamps as integer unix milliseconds,
// booleans as true or false. Nothing is lost: ids, every timestamp to the
// millisecond, each row's previous updated_in_db_at (which preconditions
// of less than millisecond precision need), the tombstones, the users and
// their account lists with their write clocks' high-water marks (hw), and
// the settings (the generated JWT secret included).
//
// Version 2, written before the rows kept their previous version, has no
// prev_updated_in_db_at attribute; Import gives each contact, person and
// phone updated_in_db_at - 1 ms, as migration 0007 does to the rows it
// finds: their history is unknown (see Precondition). Version 1, written
// before the write clock moved to the account lists, has neither that nor
// the hw attribute, and ends with one database-wide clock line,
// {"type":"write_clock","id":1,"attributes":{"hw":…}}; Import reads it
// too, giving every account list that high-water mark.

// ExportVersion is the version of the export format Export writes. Import
// reads it and versions 1 and 2.
const ExportVersion = 3

// exportType is the "type" of the header line.
const exportType = "phoneapi-export"

// colKind is how a column is stored and written.
type colKind int

const (
	kindText     colKind = iota // TEXT NOT NULL: a JSON string
	kindNullText                // TEXT: a JSON string or null
	kindInt                     // INTEGER/BIGINT NOT NULL: a JSON integer
	kindNullInt                 // INTEGER/BIGINT: a JSON integer or null
	kindBool                    // 0/1 on SQLite, BOOLEAN on PostgreSQL: true or false
)

// column is a column of an exported table.
type column struct {
	name string
	kind colKind
}

// exportTable is a table as Export writes it.
type exportTable struct {
	name  string   // the table, and the "type" of its lines
	key   column   // the primary key, a line's "id"
	attrs []column // the other columns, a line's "attributes", in table order
	// derived are columns that the database fills itself
	// (people.account_list_id and the account lists' counts, by
	// triggers): neither exported nor imported, and named so that the
	// tests know every column is accounted for.
	derived []string
	// prevUnknown marks a table of export versions 1 and 2, whose lines
	// have no prev_updated_in_db_at: Import writes updated_in_db_at - 1 ms
	// there (see ExportVersion).
	prevUnknown bool

	selectSQL, insertSQL, columns string // built by init
}

// The exported tables.
var (
	accountListsTable = &exportTable{name: "account_lists", key: column{"id", kindText}, attrs: []column{
		{"created_at", kindInt}, {"hw", kindInt},
	}, derived: []string{"contacts_count", "people_count"}}
	usersTable = &exportTable{name: "users", key: column{"id", kindText}, attrs: []column{
		{"account_list_id", kindText}, {"created_at", kindInt},
	}}
	settingsTable = &exportTable{name: "settings", key: column{"key", kindText}, attrs: []column{
		{"value", kindText},
	}}
	contactsTable = &exportTable{name: "contacts", key: column{"id", kindText}, attrs: []column{
		{"account_list_id", kindText}, {"name", kindText},
		{"created_at", kindInt}, {"updated_at", kindInt}, {"updated_in_db_at", kindInt}, {prevColumn, kindNullInt},
	}}
	peopleTable = &exportTable{name: "people", key: column{"id", kindText}, attrs: []column{
		{"contact_id", kindText}, {"first_name", kindText}, {"last_name", kindNullText},
		{"created_at", kindInt}, {"updated_at", kindInt}, {"updated_in_db_at", kindInt}, {prevColumn, kindNullInt},
	}, derived: []string{"account_list_id"}}
	phonesTable = &exportTable{name: "phones", key: column{"id", kindText}, attrs: []column{
		{"person_id", kindText}, {"number", kindText}, {"country_code", kindNullText}, {"location", kindNullText},
		{"primary", kindBool}, {"historic", kindBool}, {"source", kindText}, {"valid_values", kindBool},
		{"created_at", kindInt}, {"updated_at", kindInt}, {"updated_in_db_at", kindInt}, {prevColumn, kindNullInt},
	}}
	deletedTable = &exportTable{name: "deleted_records", key: column{"id", kindText}, attrs: []column{
		{"account_list_id", kindText}, {"deletable_type", kindText}, {"deletable_id", kindText},
		{"contact_id", kindNullText}, {"person_id", kindNullText}, {"deleted_at", kindInt},
	}}

	// The contacts, people and phones of versions 1 and 2, without
	// prev_updated_in_db_at; version 1's account lists (no hw) and its
	// database-wide clock. Read by Import only.
	v2ContactsTable     = withoutPrev(contactsTable)
	v2PeopleTable       = withoutPrev(peopleTable)
	v2PhonesTable       = withoutPrev(phonesTable)
	v1AccountListsTable = &exportTable{name: "account_lists", key: column{"id", kindText}, attrs: []column{
		{"created_at", kindInt},
	}}
	v1WriteClockTable = &exportTable{name: "write_clock", key: column{"id", kindInt}, attrs: []column{
		{"hw", kindInt},
	}}
)

// prevColumn is the column of a row's previous updated_in_db_at.
const prevColumn = "prev_updated_in_db_at"

// withoutPrev returns t as export versions 1 and 2 have it: without
// prevColumn, which Import fills (prevUnknown).
func withoutPrev(t *exportTable) *exportTable {
	v := &exportTable{name: t.name, key: t.key, derived: t.derived, prevUnknown: true}
	for _, c := range t.attrs {
		if c.name != prevColumn {
			v.attrs = append(v.attrs, c)
		}
	}
	return v
}

// exportTables lists every table holding data, parents before children,
// as Export writes them. (schema_migrations is not exported: Import's
// target is migrated by its own binary; nor is idempotency_keys: a day's
// retries of creates, not data. A retry sent to the imported database
// creates again.)
var exportTables = []*exportTable{
	accountListsTable, usersTable, settingsTable, contactsTable, peopleTable, phonesTable, deletedTable,
}

// format is the tables of one version of the export format, in order.
type format struct {
	tables []*exportTable
	index  map[string]int // table name → index in tables
}

// formats are the versions Import reads.
var formats = map[int]*format{
	ExportVersion: newFormat(exportTables...),
	2:             newFormat(accountListsTable, usersTable, settingsTable, v2ContactsTable, v2PeopleTable, v2PhonesTable, deletedTable),
	1: newFormat(v1AccountListsTable, usersTable, settingsTable, v2ContactsTable, v2PeopleTable, v2PhonesTable,
		deletedTable, v1WriteClockTable),
}

func newFormat(tables ...*exportTable) *format {
	f := &format{tables: tables, index: make(map[string]int, len(tables))}
	for i, t := range tables {
		f.index[t.name] = i
		cols := make([]string, 0, 1+len(t.attrs))
		for _, c := range append([]column{t.key}, t.attrs...) {
			cols = append(cols, `"`+c.name+`"`)
		}
		t.selectSQL = `SELECT ` + strings.Join(cols, ", ") + ` FROM ` + t.name + ` ORDER BY "` + t.key.name + `"`
		if t.prevUnknown {
			cols = append(cols, `"`+prevColumn+`"`)
		}
		t.columns = strings.Join(cols, ", ")
		t.insertSQL = multiRowInsert(t.name, t.columns, len(cols), 1)
	}
	return f
}

// names returns the names of f's tables, in order.
func (f *format) names() []string {
	names := make([]string, len(f.tables))
	for i, t := range f.tables {
		names[i] = t.name
	}
	return names
}

// ExportTables returns the exported tables in export order, parents
// before children.
func ExportTables() []string {
	return formats[ExportVersion].names()
}

// exportHeader is the first line of an export.
type exportHeader struct {
	Type       string         `json:"type"`
	Version    int            `json:"version"`
	Engine     string         `json:"engine,omitempty"`      // informative
	ExportedAt string         `json:"exported_at,omitempty"` // informative
	Counts     map[string]int `json:"counts"`                // rows per table that follow
}

// ExportResult counts the rows Export wrote.
type ExportResult struct {
	Rows   int            // row lines, the header not counted
	Tables map[string]int // rows per table
}

// Summary lists the rows per table in export order, e.g. "account_lists
// 1, users 1, ...".
func (r ExportResult) Summary() string { return summary(r.Tables) }

// ImportResult counts the rows Import wrote.
type ImportResult struct {
	Rows   int            // row lines, the header not counted
	Tables map[string]int // rows per table
}

// Summary lists the rows per table in export order, e.g. "account_lists
// 1, users 1, ...".
func (r ImportResult) Summary() string { return summary(r.Tables) }

func summary(tables map[string]int) string {
	parts := make([]string, len(exportTables))
	for i, t := range exportTables {
		parts[i] = t.name + " " + strconv.Itoa(tables[t.name])
	}
	return strings.Join(parts, ", ")
}

// exportProgressRows is how often, in rows, Export reports progress.
const exportProgressRows = 1000

// Export writes every row of the database to w as JSON Lines (see
// ExportVersion and the format above), reading one consistent snapshot:
// the read transaction of the lists (a deferred transaction on SQLite's
// read-only pool, REPEATABLE READ READ ONLY on PostgreSQL), so writers
// carry on meanwhile and none of their changes shows half-done. Rows are
// streamed through a cursor per table, never held in memory. progress, if
// not nil, is called with the rows written so far every thousand rows and
// once at the end.
//
// Text that is not valid UTF-8 cannot be written as JSON without change;
// Export fails on it rather than alter it.
func (s *Store) Export(ctx context.Context, w io.Writer, progress func(rows int)) (ExportResult, error) {
	res := ExportResult{Tables: make(map[string]int, len(exportTables))}
	bw := bufio.NewWriterSize(w, 256<<10)
	err := s.readTx(ctx, func(tx conn) error {
		h := exportHeader{
			Type: exportType, Version: ExportVersion, Engine: s.d.name,
			ExportedAt: s.clock().Format("2006-01-02T15:04:05.000Z07:00"),
			Counts:     make(map[string]int, len(exportTables)),
		}
		for _, t := range exportTables {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+t.name).Scan(&n); err != nil {
				return fmt.Errorf("count %s: %w", t.name, err)
			}
			h.Counts[t.name] = n
		}
		line, err := json.Marshal(h)
		if err != nil {
			return err
		}
		if _, err := bw.Write(append(line, '\n')); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		for _, t := range exportTables {
			n, err := exportTableRows(ctx, tx, t, bw, func() {
				res.Rows++
				if progress != nil && res.Rows%exportProgressRows == 0 {
					progress(res.Rows)
				}
			})
			res.Tables[t.name] = n
			if err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			if n != h.Counts[t.name] {
				// Cannot happen in one snapshot; never write a file that
				// Import would reject.
				return fmt.Errorf("%s: counted %d rows, read %d", t.name, h.Counts[t.name], n)
			}
		}
		return nil
	})
	if err == nil {
		if err = bw.Flush(); err != nil {
			err = fmt.Errorf("write: %w", err)
		}
	}
	if err != nil {
		return res, fmt.Errorf("export: %w", err)
	}
	if progress != nil {
		progress(res.Rows)
	}
	return res, nil
}

// exportTableRows writes the lines of table t, calling row after each, and
// returns how many it wrote.
func exportTableRows(ctx context.Context, tx conn, t *exportTable, w io.Writer, row func()) (int, error) {
	rows, err := tx.QueryContext(ctx, t.selectSQL)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	cols := append([]column{t.key}, t.attrs...)
	dest := make([]any, len(cols))
	for i, c := range cols {
		switch c.kind {
		case kindText:
			dest[i] = new(string)
		case kindNullText:
			dest[i] = new(sql.NullString)
		case kindInt:
			dest[i] = new(int64)
		case kindNullInt:
			dest[i] = new(sql.NullInt64)
		case kindBool:
			dest[i] = new(bool)
		}
	}
	prefix := []byte(`{"type":"` + t.name + `","id":`)
	var buf []byte
	n := 0
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return n, err
		}
		buf = append(buf[:0], prefix...)
		for i, c := range cols {
			switch i {
			case 0:
			case 1:
				buf = append(buf, `,"attributes":{"`...)
			default:
				buf = append(buf, `,"`...)
			}
			if i > 0 {
				buf = append(buf, c.name...)
				buf = append(buf, `":`...)
			}
			if buf, err = appendValue(buf, dest[i]); err != nil {
				return n, fmt.Errorf("row %s, column %s: %w", formatKey(dest[0]), c.name, err)
			}
		}
		buf = append(buf, "}}\n"...)
		if _, err := w.Write(buf); err != nil {
			return n, fmt.Errorf("write: %w", err)
		}
		n++
		row()
	}
	return n, rows.Err()
}

// formatKey returns a scanned primary key for messages.
func formatKey(v any) string {
	switch v := v.(type) {
	case *string:
		return strconv.Quote(*v)
	case *int64:
		return strconv.FormatInt(*v, 10)
	}
	return "?"
}

// appendValue appends the JSON form of a scanned value.
func appendValue(buf []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case *string:
		return appendJSONString(buf, *v)
	case *sql.NullString:
		if !v.Valid {
			return append(buf, "null"...), nil
		}
		return appendJSONString(buf, v.String)
	case *int64:
		return strconv.AppendInt(buf, *v, 10), nil
	case *sql.NullInt64:
		if !v.Valid {
			return append(buf, "null"...), nil
		}
		return strconv.AppendInt(buf, v.Int64, 10), nil
	case *bool:
		return strconv.AppendBool(buf, *v), nil
	}
	return buf, fmt.Errorf("unexpected value %T", v)
}

// appendJSONString appends s as a JSON string. It fails if s is not
// valid UTF-8, which JSON cannot carry unchanged.
func appendJSONString(buf []byte, s string) ([]byte, error) {
	if !utf8.ValidString(s) {
		return buf, errors.New("text is not valid UTF-8")
	}
	const hex = "0123456789abcdef"
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		buf = append(buf, s[start:i]...)
		switch c {
		case '"', '\\':
			buf = append(buf, '\\', c)
		case '\n':
			buf = append(buf, '\\', 'n')
		case '\r':
			buf = append(buf, '\\', 'r')
		case '\t':
			buf = append(buf, '\\', 't')
		default:
			buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"'), nil
}

// importBatchRows is how many rows Import writes per transaction. It is a
// variable so that tests can make batches small.
var importBatchRows = 5000

// importMaxLine is the longest line Import reads.
const importMaxLine = 64 << 20

// importRow is one parsed line.
type importRow struct {
	line  int
	table *exportTable
	args  []any // key, then attributes, as query arguments (see width)
}

// width returns how many values a row of t inserts: its key, its
// attributes and, for prevUnknown, prev_updated_in_db_at.
func (t *exportTable) width() int {
	if t.prevUnknown {
		return 2 + len(t.attrs)
	}
	return 1 + len(t.attrs)
}

// Import reads an export (see Export) from r and writes its rows, exactly
// as they are, into the database, which must be migrated and empty: no
// row in any exported table. Rows are inserted raw, values unchanged —
// ids, timestamps, updated_in_db_at and the previous version's, primary
// flags, tombstones, settings, each account list's write clock — bypassing the write clock's stamping
// and the primary phone fix-up: it is a copy, and the rows were
// consistent where they came from. A version 1 export's database-wide
// high-water mark becomes every account list's.
//
// The header is checked first (type and version), then every line: its
// type and order, its id, and that its attributes are exactly the table's
// columns with values of the right JSON type; text must hold no U+0000
// (an export of an older SQLite database may; PostgreSQL cannot store
// it). Bad input fails with the line number, naming the table, the row's
// id and the column where they are known. When r can seek (a file), every
// line is checked before anything is written, then r is read again to
// write; from a stream (a pipe) lines are checked as they are read, each
// before its batch is written. Rows are written in transactions of 5,000
// with prepared multi-row inserts; if one fails, its rows are retried one
// by one, in a transaction that is rolled back, to name the offending
// line. Parsing the next batch overlaps writing the last. The row counts
// of the header are checked before the last batch is committed, so a
// truncated export is reported. Batches committed before an error (one
// the database reports, or from a stream one in a later line) stay: start
// again with a new database.
//
// progress, if not nil, is called with the rows committed so far after
// every batch, from a goroutine of Import's: one call at a time, all
// before Import returns. Nothing else should write to the database
// meanwhile.
func (s *Store) Import(ctx context.Context, r io.Reader, progress func(rows int)) (ImportResult, error) {
	res, err := s.importRows(ctx, r, progress)
	if err != nil {
		return res, fmt.Errorf("import: %w", err)
	}
	return res, nil
}

func (s *Store) importRows(ctx context.Context, r io.Reader, progress func(rows int)) (ImportResult, error) {
	res := ImportResult{Tables: make(map[string]int, len(exportTables))}
	if sk, ok := r.(io.Seeker); ok {
		if start, err := sk.Seek(0, io.SeekCurrent); err == nil {
			// A file: check every line before anything is written.
			err := readExport(r, func() error { return s.checkEmpty(ctx) },
				func(importRow) bool { return ctx.Err() == nil })
			if err == nil {
				err = ctx.Err()
			}
			if err != nil {
				return res, err
			}
			if _, err := sk.Seek(start, io.SeekStart); err != nil {
				return res, fmt.Errorf("rewind the input: %w", err)
			}
		}
	}

	// readExport parses and checks lines into batches; a writer goroutine
	// commits them in order, so parsing overlaps writing. The writer stops
	// at its first error and cancels wctx, which stops the parser; an
	// error of the writer concerns earlier lines than any of the
	// parser's, so it is the one reported.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []importRow, 2)
	var werr error
	wdone := make(chan struct{})
	started := false
	ready := func() error {
		if err := s.checkEmpty(ctx); err != nil {
			return err
		}
		started = true
		go func() {
			defer close(wdone)
			for batch := range batches {
				if werr == nil {
					werr = s.writeBatch(wctx, batch)
					if werr != nil {
						cancel()
						continue // drain
					}
					for _, r := range batch {
						res.Rows++
						res.Tables[r.table.name]++
					}
					if progress != nil {
						progress(res.Rows)
					}
				}
			}
		}()
		return nil
	}
	send := func(batch []importRow) bool {
		select {
		case batches <- batch:
			return true
		case <-wctx.Done():
			return false
		}
	}
	stopped := false
	batch := make([]importRow, 0, importBatchRows)
	err := readExport(r, ready, func(row importRow) bool {
		batch = append(batch, row)
		if len(batch) >= importBatchRows {
			if !send(batch) {
				stopped = true
				return false
			}
			batch = make([]importRow, 0, importBatchRows)
		}
		return true
	})
	if !started {
		return res, err
	}
	if err == nil && !stopped && len(batch) > 0 {
		send(batch)
	}
	close(batches)
	<-wdone
	if werr != nil {
		return res, werr
	}
	if err == nil {
		err = ctx.Err()
	}
	return res, err
}

// readExport reads an export from r: the header line, checked, after
// which it calls ready and stops at its error; then every row line,
// parsed and checked (its table's place in the order, the header's count
// not passed), which it passes to row in order, stopping when row returns
// false; and at the end that every table had the header's count of rows.
// Its errors name the line.
func readExport(r io.Reader, ready func() error, row func(importRow) bool) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 256<<10), importMaxLine)
	lineNo := 0
	next := func() bool {
		if sc.Scan() {
			lineNo++
			return true
		}
		return false
	}
	scanErr := func() error {
		if err := sc.Err(); err != nil {
			if errors.Is(err, bufio.ErrTooLong) {
				return fmt.Errorf("line %d: longer than %d bytes", lineNo+1, importMaxLine)
			}
			return fmt.Errorf("read line %d: %w", lineNo+1, err)
		}
		return nil
	}

	if !next() {
		if err := scanErr(); err != nil {
			return err
		}
		return errors.New("empty input: not a phoneapi export")
	}
	h, f, err := parseHeader(sc.Bytes())
	if err != nil {
		return fmt.Errorf("line 1: %w", err)
	}
	if err := ready(); err != nil {
		return err
	}
	seen := make(map[string]int, len(f.tables)) // rows read per table
	current := 0                                // index in f.tables of the table being read
	for next() {
		r, err := parseRow(f, sc.Bytes())
		if err != nil {
			return fmt.Errorf("line %d: %w", lineNo, err)
		}
		r.line = lineNo
		ti := f.index[r.table.name]
		if ti < current {
			return fmt.Errorf("line %d: %s after %s: an export lists %s", lineNo,
				r.table.name, f.tables[current].name, strings.Join(f.names(), ", "))
		}
		current = ti
		seen[r.table.name]++
		if seen[r.table.name] > h.Counts[r.table.name] {
			return fmt.Errorf("line %d: more %s rows than the header's %d", lineNo, r.table.name, h.Counts[r.table.name])
		}
		if !row(r) {
			return nil
		}
	}
	if err := scanErr(); err != nil {
		return err
	}
	// Before the last batch commits: a truncated file must not pass.
	for _, t := range f.tables {
		if seen[t.name] != h.Counts[t.name] {
			return fmt.Errorf("incomplete export: the header counts %d %s rows, the input has %d (%d lines read)",
				h.Counts[t.name], t.name, seen[t.name], lineNo)
		}
	}
	return nil
}

// writeBatch commits batch in one transaction. If that fails, it names
// the line at fault if it can (see findBadRow).
func (s *Store) writeBatch(ctx context.Context, batch []importRow) error {
	err := s.inTx(ctx, func(tx conn) error { return insertBatch(ctx, tx, batch) })
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if lineErr := s.findBadRow(ctx, batch); lineErr != nil {
		return lineErr
	}
	return fmt.Errorf("lines %d-%d: %w", batch[0].line, batch[len(batch)-1].line, err)
}

// parseHeader checks the header line of an export.
func parseHeader(line []byte) (exportHeader, *format, error) {
	var h exportHeader
	notExport := fmt.Errorf(`not a phoneapi export: the first line must be a header {"type":%q,"version":%d,...}`,
		exportType, ExportVersion)
	if err := json.Unmarshal(line, &h); err != nil {
		return h, nil, notExport
	}
	if h.Type != exportType {
		return h, nil, notExport
	}
	f := formats[h.Version]
	if f == nil {
		return h, nil, fmt.Errorf("export format version %d is not supported: this phoneapi reads versions 1 to %d", h.Version, ExportVersion)
	}
	if h.Counts == nil {
		return h, nil, errors.New(`header: missing "counts"`)
	}
	for name, n := range h.Counts {
		if _, ok := f.index[name]; !ok {
			return h, nil, fmt.Errorf("header: counts: unknown table %q", name)
		}
		if n < 0 {
			return h, nil, fmt.Errorf("header: counts: negative %s count", name)
		}
	}
	for _, t := range f.tables {
		if _, ok := h.Counts[t.name]; !ok {
			return h, nil, fmt.Errorf("header: counts: missing %s", t.name)
		}
	}
	if _, ok := f.index[v1WriteClockTable.name]; ok && h.Counts[v1WriteClockTable.name] != 1 {
		return h, nil, errors.New("header: counts: write_clock must be 1")
	}
	return h, f, nil
}

// parseRow parses and checks one row line of format f.
func parseRow(f *format, line []byte) (importRow, error) {
	var l struct {
		Type       string                     `json:"type"`
		ID         json.RawMessage            `json:"id"`
		Attributes map[string]json.RawMessage `json:"attributes"`
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		if len(bytes.TrimSpace(line)) == 0 {
			return importRow{}, errors.New("empty line")
		}
		return importRow{}, fmt.Errorf("invalid JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return importRow{}, errors.New("invalid JSON: data after the object")
	}
	if l.Type == "" {
		return importRow{}, errors.New(`missing "type"`)
	}
	i, ok := f.index[l.Type]
	if !ok {
		return importRow{}, fmt.Errorf("unknown type %q", l.Type)
	}
	t := f.tables[i]
	row := importRow{table: t, args: make([]any, 0, t.width())}
	if l.ID == nil {
		return importRow{}, fmt.Errorf(`%s: missing "id"`, t.name)
	}
	id, err := decodeValue(l.ID, t.key.kind)
	if err != nil {
		return importRow{}, fmt.Errorf("%s: id: %w", t.name, err)
	}
	row.args = append(row.args, id)
	what := fmt.Sprintf("%s %v", t.name, id)
	if l.Attributes == nil {
		return importRow{}, fmt.Errorf(`%s: missing "attributes"`, what)
	}
	for _, c := range t.attrs {
		raw, ok := l.Attributes[c.name]
		if !ok {
			return importRow{}, fmt.Errorf("%s: missing attribute %q", what, c.name)
		}
		v, err := decodeValue(raw, c.kind)
		if err != nil {
			return importRow{}, fmt.Errorf("%s: attribute %q: %w", what, c.name, err)
		}
		row.args = append(row.args, v)
	}
	if len(l.Attributes) != len(t.attrs) {
		for name := range l.Attributes {
			if !t.hasAttr(name) {
				return importRow{}, fmt.Errorf("%s: unknown attribute %q", what, name)
			}
		}
	}
	if t.prevUnknown {
		// The history is unknown: the latest an earlier version can have
		// been, as migration 0007 has it.
		for i, c := range t.attrs {
			if c.name == "updated_in_db_at" {
				row.args = append(row.args, row.args[1+i].(int64)-1)
			}
		}
	}
	return row, nil
}

func (t *exportTable) hasAttr(name string) bool {
	for _, c := range t.attrs {
		if c.name == name {
			return true
		}
	}
	return false
}

// decodeValue converts a JSON value, which the decoder has checked is
// valid JSON, to a query argument of the kind.
func decodeValue(raw json.RawMessage, kind colKind) (any, error) {
	raw = bytes.TrimSpace(raw)
	switch kind {
	case kindText, kindNullText:
		if kind == kindNullText && string(raw) == "null" {
			return nil, nil
		}
		if len(raw) < 2 || raw[0] != '"' {
			if kind == kindNullText {
				return nil, errors.New("want a string or null")
			}
			return nil, errors.New("want a string")
		}
		inner := raw[1 : len(raw)-1]
		if !utf8.Valid(inner) {
			// The decoder would replace the bytes: refuse to alter text.
			return nil, &TextError{Reason: "is not valid UTF-8"}
		}
		// Fast path: a JSON string without escapes holds its text as it
		// is (and no NUL: the decoder refused raw control characters).
		if bytes.IndexByte(inner, '\\') < 0 {
			return string(inner), nil
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		// \u0000, which an export of an older SQLite database may hold.
		if strings.IndexByte(s, 0) >= 0 {
			return nil, &TextError{Reason: textProblem(s)}
		}
		return s, nil
	case kindInt, kindNullInt:
		if kind == kindNullInt && string(raw) == "null" {
			return nil, nil
		}
		// JSON's integers are ParseInt's, leading zeros aside, which the
		// decoder has rejected; fractions and exponents fail here.
		n, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil || raw[0] == '+' {
			if kind == kindNullInt {
				return nil, errors.New("want an integer (unix milliseconds for times) or null")
			}
			return nil, errors.New("want an integer (unix milliseconds for times)")
		}
		return n, nil
	case kindBool:
		switch string(raw) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, errors.New("want true or false")
	}
	return nil, fmt.Errorf("unknown column kind %d", kind)
}

// checkEmpty returns an error unless every exported table is empty.
func (s *Store) checkEmpty(ctx context.Context) error {
	var found []string
	for _, t := range exportTables {
		ok, err := exists(ctx, s.pool(), `SELECT 1 FROM `+t.name+` LIMIT 1`)
		if err != nil {
			return fmt.Errorf("check that the database is empty: %w", err)
		}
		if ok {
			found = append(found, t.name)
		}
	}
	if len(found) > 0 {
		return fmt.Errorf("the database is not empty (it has %s): import needs a new, migrated database",
			strings.Join(found, ", "))
	}
	return nil
}

// insertBatch writes rows in tx: each run of rows of one table with
// prepared multi-row inserts (see insertRows); a version 1 write_clock
// row sets the high-water mark of every account list.
func insertBatch(ctx context.Context, tx conn, batch []importRow) error {
	for i := 0; i < len(batch); {
		t := batch[i].table
		j := i
		for j < len(batch) && batch[j].table == t {
			j++
		}
		if t == v1WriteClockTable {
			for _, r := range batch[i:j] {
				if err := setV1Clock(ctx, tx, r); err != nil {
					return err
				}
			}
		} else {
			width := t.width()
			rs := &rows{width: width, args: make([]any, 0, (j-i)*width)}
			for _, r := range batch[i:j] {
				rs.args = append(rs.args, r.args...)
			}
			if err := insertRows(ctx, tx, t.name, t.columns, rs); err != nil {
				return fmt.Errorf("insert %s: %w", t.name, err)
			}
		}
		i = j
	}
	return nil
}

// setV1Clock applies the database-wide high-water mark of a version 1
// export, its write_clock row r, to every account list: written last,
// after every account list.
func setV1Clock(ctx context.Context, tx conn, r importRow) error {
	_, err := tx.ExecContext(ctx, `UPDATE account_lists SET hw = ? WHERE hw < ?`, r.args[1], r.args[1])
	if err != nil {
		return fmt.Errorf("set write clock: %w", mapError(err))
	}
	return nil
}

// errRollback rolls back findBadRow's transaction.
var errRollback = errors.New("rollback")

// findBadRow inserts batch row by row in a transaction it rolls back, and
// returns the error of the first row that fails, naming its line, or nil.
func (s *Store) findBadRow(ctx context.Context, batch []importRow) error {
	return s.findBadRowAfter(ctx, nil, batch)
}

// findBadRowAfter is findBadRow with prep, if not nil, run first in the
// transaction (Restore empties the tables there).
func (s *Store) findBadRowAfter(ctx context.Context, prep func(conn) error, batch []importRow) error {
	var found error
	_ = s.inTx(ctx, func(tx conn) error {
		if prep != nil {
			if err := prep(tx); err != nil {
				return err
			}
		}
		for _, r := range batch {
			var err error
			if r.table == v1WriteClockTable {
				err = setV1Clock(ctx, tx, r)
			} else if _, err = tx.ExecContext(ctx, r.table.insertSQL, r.args...); err != nil {
				err = mapError(err)
			}
			if err != nil {
				found = rowError(r, err)
				return found
			}
		}
		return errRollback
	})
	return found
}

// rowError describes the failed insert of row r.
func rowError(r importRow, err error) error {
	what := fmt.Sprintf("line %d: %s %v", r.line, r.table.name, r.args[0])
	switch {
	case errors.Is(err, ErrConflict):
		return fmt.Errorf("%s: a row with this id exists already: %w", what, err)
	case errors.Is(err, ErrNotFound):
		return fmt.Errorf("%s: refers to a row that does not exist (a missing parent, or one listed after its child): %w", what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}
