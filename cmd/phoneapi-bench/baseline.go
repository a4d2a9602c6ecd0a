package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	_ "github.com/mattn/go-sqlite3"
)

// The DSN parameters of db/db.go: a single writer connection with
// immediate transactions, and a query-only reader pool, both in WAL mode
// with synchronous=FULL and a 10 s busy timeout.
const (
	baselineWriteDSN = "_journal_mode=WAL&_foreign_keys=on&_busy_timeout=10000&_txlock=immediate&_synchronous=full"
	baselineReadDSN  = "_journal_mode=WAL&_foreign_keys=on&_busy_timeout=10000&_txlock=deferred&_query_only=on&_synchronous=full"
)

// baseline is the bare server the overhead of phoneapi is measured
// against: net/http, database/sql, go-sqlite3 and encoding/json serving
// the operations of the workload on phoneapi's schema, without
// validation, authentication or a framework. Its documents are
// phoneapi's, member for member (relationships with their links, list
// links and meta with total_count, included phones, sparse fieldsets),
// so that both servers send the same bytes for the same rows; the tests
// check it (TestBaselineDocuments).
type baseline struct {
	w, r     *sql.DB
	srv      *http.Server
	base     string
	accounts sync.Map // user id → account list id, as phoneapi caches it
}

// startBaseline opens the SQLite file at path and serves it on a free
// loopback port.
func startBaseline(path string) (*baseline, error) {
	w, err := sql.Open("sqlite3", "file:"+path+"?"+baselineWriteDSN)
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	r, err := sql.Open("sqlite3", "file:"+path+"?"+baselineReadDSN)
	if err != nil {
		w.Close()
		return nil, err
	}
	if err := errors.Join(w.Ping(), r.Ping()); err != nil {
		w.Close()
		r.Close()
		return nil, err
	}
	b := &baseline{w: w, r: r}
	mux := http.NewServeMux()
	const phones = "/api/v2/contacts/{contact}/people/{person}/phones"
	mux.HandleFunc("GET "+phones+"/{id}", b.get)
	mux.HandleFunc("GET "+phones, b.list)
	mux.HandleFunc("POST "+phones, b.create)
	mux.HandleFunc("PUT "+phones+"/{id}", b.update)
	mux.HandleFunc("PATCH "+phones+"/{id}", b.update) // the workload's PATCH sends no If-Match: overwrite
	mux.HandleFunc("DELETE "+phones+"/{id}", b.delete)
	mux.HandleFunc("GET /api/v2/contacts/people", b.people)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		w.Close()
		r.Close()
		return nil, err
	}
	b.base = "http://" + ln.Addr().String()
	b.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go b.srv.Serve(ln)
	return b, nil
}

// close stops the server and closes the database.
func (b *baseline) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return errors.Join(b.srv.Shutdown(ctx), b.r.Close(), b.w.Close())
}

// The documents, as phoneapi encodes them: members in the order of its
// generated types (alphabetical), attributes left out of a sparse
// fieldset by omitempty on pointers (a nullable attribute is a pointer
// to a pointer, so that a null one asked for is still written), to-many
// linkage only when included.

// fieldset is a fields[TYPE] parameter: nil for every field.
type fieldset map[string]bool

func (f fieldset) has(name string) bool { return f == nil || f[name] }

// fieldsOf parses a fields[TYPE] parameter as phoneapi does.
func fieldsOf(q url.Values, typ string) fieldset {
	vs, ok := q["fields["+typ+"]"]
	if !ok {
		return nil
	}
	f := fieldset{}
	for _, name := range strings.Split(vs[0], ",") {
		if name = strings.TrimSpace(name); name != "" {
			f[name] = true
		}
	}
	return f
}

type identifier struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

type relLinks struct {
	Related string `json:"related"`
}

type toOne struct {
	Data  identifier `json:"data"`
	Links relLinks   `json:"links"`
}

type toMany struct {
	Data  *[]identifier `json:"data,omitempty"` // when included
	Links relLinks      `json:"links"`
}

// phoneColumns are the columns of a phone, in the order scanPhone reads them.
const phoneColumns = `id, person_id, number, country_code, location, "primary", historic, source, valid_values, created_at, updated_at, updated_in_db_at`

// phoneRow is a phones row, times formatted.
type phoneRow struct {
	id, personID, number, source        string
	countryCode, location               *string
	primary, historic, validValues      bool
	createdAt, updatedAt, updatedInDBAt string
	inDB                                int64
}

// phoneRes is a phone resource object.
type phoneRes struct {
	Attributes    phoneAttrs `json:"attributes"`
	ID            string     `json:"id"`
	Relationships *phoneRels `json:"relationships,omitempty"`
	Type          string     `json:"type"`
}

type phoneAttrs struct {
	CountryCode   *string  `json:"country_code,omitempty"`
	CreatedAt     *string  `json:"created_at,omitempty"`
	Historic      *bool    `json:"historic,omitempty"`
	Location      **string `json:"location,omitempty"`
	Number        *string  `json:"number,omitempty"`
	Primary       *bool    `json:"primary,omitempty"`
	Source        *string  `json:"source,omitempty"`
	UpdatedAt     *string  `json:"updated_at,omitempty"`
	UpdatedInDBAt *string  `json:"updated_in_db_at,omitempty"`
	ValidValues   *bool    `json:"valid_values,omitempty"`
}

type phoneRels struct {
	Person toOne `json:"person"`
}

var emptyString = ""

// res returns p's resource object with the fields of f; it points into p.
func (p *phoneRow) res(f fieldset) phoneRes {
	r := phoneRes{ID: p.id, Type: "phone_numbers"}
	a := &r.Attributes
	if f.has("country_code") {
		a.CountryCode = &emptyString // phoneapi writes a missing country code as ""
		if p.countryCode != nil {
			a.CountryCode = p.countryCode
		}
	}
	if f.has("created_at") {
		a.CreatedAt = &p.createdAt
	}
	if f.has("historic") {
		a.Historic = &p.historic
	}
	if f.has("location") {
		a.Location = &p.location
	}
	if f.has("number") {
		a.Number = &p.number
	}
	if f.has("primary") {
		a.Primary = &p.primary
	}
	if f.has("source") {
		a.Source = &p.source
	}
	if f.has("updated_at") {
		a.UpdatedAt = &p.updatedAt
	}
	if f.has("updated_in_db_at") {
		a.UpdatedInDBAt = &p.updatedInDBAt
	}
	if f.has("valid_values") {
		a.ValidValues = &p.validValues
	}
	if f.has("person") {
		r.Relationships = &phoneRels{Person: toOne{Data: identifier{ID: p.personID, Type: "people"},
			Links: relLinks{Related: "/api/v2/contacts/people/" + p.personID}}}
	}
	return r
}

type scanner interface{ Scan(...any) error }

func scanPhone(s scanner) (*phoneRow, error) {
	var p phoneRow
	var created, updated int64
	if err := s.Scan(&p.id, &p.personID, &p.number, &p.countryCode, &p.location, &p.primary, &p.historic, &p.source, &p.validValues,
		&created, &updated, &p.inDB); err != nil {
		return nil, err
	}
	p.createdAt, p.updatedAt, p.updatedInDBAt = msTime(created), msTime(updated), msTime(p.inDB)
	return &p, nil
}

// personColumns are the columns of a person, in the order scanPerson
// reads them.
const personColumns = `id, contact_id, first_name, last_name, created_at, updated_at, updated_in_db_at`

// personRow is a people row, times formatted.
type personRow struct {
	id, contactID, firstName            string
	lastName                            *string
	createdAt, updatedAt, updatedInDBAt string
}

// personRes is a person resource object.
type personRes struct {
	Attributes    personAttrs `json:"attributes"`
	ID            string      `json:"id"`
	Relationships *personRels `json:"relationships,omitempty"`
	Type          string      `json:"type"`
}

type personAttrs struct {
	CreatedAt     *string  `json:"created_at,omitempty"`
	FirstName     *string  `json:"first_name,omitempty"`
	LastName      **string `json:"last_name,omitempty"`
	UpdatedAt     *string  `json:"updated_at,omitempty"`
	UpdatedInDBAt *string  `json:"updated_in_db_at,omitempty"`
}

type personRels struct {
	Contact      *toOne  `json:"contact,omitempty"`
	PhoneNumbers *toMany `json:"phone_numbers,omitempty"`
}

// res returns p's resource object with the fields of f and, when phones
// is not nil (included), the linkage of its phones; it points into p.
func (p *personRow) res(f fieldset, phones *[]identifier) personRes {
	r := personRes{ID: p.id, Type: "people"}
	a := &r.Attributes
	if f.has("created_at") {
		a.CreatedAt = &p.createdAt
	}
	if f.has("first_name") {
		a.FirstName = &p.firstName
	}
	if f.has("last_name") {
		a.LastName = &p.lastName
	}
	if f.has("updated_at") {
		a.UpdatedAt = &p.updatedAt
	}
	if f.has("updated_in_db_at") {
		a.UpdatedInDBAt = &p.updatedInDBAt
	}
	contact, phoneNumbers := f.has("contact"), f.has("phone_numbers")
	if !contact && !phoneNumbers {
		return r
	}
	r.Relationships = &personRels{}
	if contact {
		r.Relationships.Contact = &toOne{Data: identifier{ID: p.contactID, Type: "contacts"},
			Links: relLinks{Related: "/api/v2/contacts/" + p.contactID}}
	}
	if phoneNumbers {
		r.Relationships.PhoneNumbers = &toMany{Data: phones,
			Links: relLinks{Related: "/api/v2/contacts/" + p.contactID + "/people/" + p.id + "/phones"}}
	}
	return r
}

func scanPerson(s scanner) (*personRow, error) {
	var p personRow
	var created, updated, inDB int64
	if err := s.Scan(&p.id, &p.contactID, &p.firstName, &p.lastName, &created, &updated, &inDB); err != nil {
		return nil, err
	}
	p.createdAt, p.updatedAt, p.updatedInDBAt = msTime(created), msTime(updated), msTime(inDB)
	return &p, nil
}

func msTime(ms int64) string { return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z") }

// baselineETag is phoneapi's entity tag: a digest of id and updated_in_db_at.
func baselineETag(id string, inDB int64) string {
	sum := sha256.Sum256([]byte(id + "@" + strconv.FormatInt(inDB, 10)))
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}

// listLinks and listMeta are a list document's links and meta members.
type listLinks struct {
	First string  `json:"first"`
	Last  string  `json:"last"`
	Next  *string `json:"next,omitempty"`
	Prev  *string `json:"prev,omitempty"`
	Self  string  `json:"self"`
}

type listMeta struct {
	Filter     struct{}   `json:"filter"` // the workload sends no filter
	Pagination pagination `json:"pagination"`
	Sort       string     `json:"sort"`
}

type pagination struct {
	Page       int `json:"page"`
	PerPage    int `json:"per_page"`
	TotalCount int `json:"total_count"`
	TotalPages int `json:"total_pages"`
}

// listDoc is a list document of T resources, with included phones when
// Included is not nil.
type listDoc[T any] struct {
	Data     []T         `json:"data"`
	Included *[]phoneRes `json:"included,omitempty"`
	Links    listLinks   `json:"links"`
	Meta     listMeta    `json:"meta"`
}

// page is a list request's paging: page and per_page (phoneapi's
// defaults 1 and 25; the workload sends valid values only).
type page struct{ number, size int }

func pageOf(q url.Values) page {
	p := page{number: 1, size: 25}
	if n, err := strconv.Atoi(q.Get("page")); err == nil && n > 0 {
		p.number = n
	}
	if n, err := strconv.Atoi(q.Get("per_page")); err == nil && n > 0 {
		p.size = n
	}
	return p
}

func (p page) offset() int { return (p.number - 1) * p.size }

// needsCount reports whether a page of n rows leaves the total unknown, so
// that it must be counted, as phoneapi decides: unless the page is the
// last one (shorter than per_page, and not past the end).
func (p page) needsCount(n int) bool { return n >= p.size || (p.offset() > 0 && n == 0) }

// tail returns the links and meta of a list at path (sorted by
// created_at, unfiltered) with total rows, the request's other
// parameters q kept in its links, as phoneapi writes them.
func (p page) tail(path string, q url.Values, total int) (listLinks, listMeta) {
	pages := (total + p.size - 1) / p.size
	last := max(pages, 1)
	rest := url.Values{}
	for k, vs := range q {
		if k != "page" && k != "per_page" {
			rest[k] = vs
		}
	}
	at := func(n int) string {
		rest.Set("page", strconv.Itoa(n))
		rest.Set("per_page", strconv.Itoa(p.size))
		return path + "?" + rest.Encode()
	}
	l := listLinks{Self: at(p.number), First: at(1), Last: at(last)}
	if p.number > 1 {
		prev := at(min(p.number-1, last))
		l.Prev = &prev
	}
	if p.number < last {
		next := at(p.number + 1)
		l.Next = &next
	}
	return l, listMeta{Pagination: pagination{Page: p.number, PerPage: p.size, TotalCount: total, TotalPages: pages}, Sort: "created_at"}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/vnd.api+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writePhone(w http.ResponseWriter, status int, p *phoneRow) {
	w.Header().Set("ETag", baselineETag(p.id, p.inDB))
	writeJSON(w, status, struct {
		Data phoneRes `json:"data"`
	}{p.res(nil)})
}

// fail answers status, or 404 for sql.ErrNoRows.
func fail(w http.ResponseWriter, status int, err error) {
	if errors.Is(err, sql.ErrNoRows) {
		status = http.StatusNotFound
	}
	http.Error(w, err.Error(), status)
}

func (b *baseline) get(w http.ResponseWriter, r *http.Request) {
	p, err := scanPhone(b.r.QueryRowContext(r.Context(), `SELECT `+phoneColumns+` FROM phones WHERE id = ? AND person_id = ?`, r.PathValue("id"), r.PathValue("person")))
	if err != nil {
		fail(w, http.StatusInternalServerError, err)
		return
	}
	writePhone(w, http.StatusOK, p)
}

// queryRows runs query and scans every row with scan.
func queryRows[T any](ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		x, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// pageAndCount reads one page of a list, and its total with count (one
// argument, the parent's id) when the page does not tell it, in one read
// transaction, as phoneapi does.
func pageAndCount[T any](ctx context.Context, db *sql.DB, p page, scan func(scanner) (T, error), query, count, parent string) ([]T, int, error) {
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, 0, err
	}
	defer tx.Rollback()
	rows, err := queryRows(ctx, tx, scan, query+` LIMIT ? OFFSET ?`, parent, p.size, p.offset())
	if err != nil {
		return nil, 0, err
	}
	total := p.offset() + len(rows)
	if p.needsCount(len(rows)) {
		if err := tx.QueryRowContext(ctx, count, parent).Scan(&total); err != nil {
			return nil, 0, err
		}
	}
	return rows, total, tx.Commit()
}

func (b *baseline) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p := pageOf(q)
	person := r.PathValue("person")
	rows, total, err := pageAndCount(r.Context(), b.r, p, scanPhone,
		`SELECT `+phoneColumns+` FROM phones WHERE person_id = ? ORDER BY created_at, id`,
		`SELECT count(*) FROM phones WHERE person_id = ?`, person)
	if err != nil {
		fail(w, http.StatusInternalServerError, err)
		return
	}
	f := fieldsOf(q, "phone_numbers")
	doc := listDoc[phoneRes]{Data: make([]phoneRes, len(rows))}
	for i, ph := range rows {
		doc.Data[i] = ph.res(f)
	}
	doc.Links, doc.Meta = p.tail(r.URL.Path, q, total)
	writeJSON(w, http.StatusOK, doc)
}

// accountList returns the account list of the user of the request's
// bearer token, read from its user_id claim without checking the
// signature (the baseline does no authentication) and cached, as phoneapi
// caches it.
func (b *baseline) accountList(r *http.Request) (string, error) {
	user, err := tokenUser(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	if err != nil {
		return "", err
	}
	if id, ok := b.accounts.Load(user); ok {
		return id.(string), nil
	}
	var id string
	if err := b.r.QueryRowContext(r.Context(), `SELECT account_list_id FROM users WHERE id = ?`, user).Scan(&id); err != nil {
		return "", err
	}
	b.accounts.Store(user, id)
	return id, nil
}

// people lists the people of the caller's account list, ordered by
// created_at and id, with include=phone_numbers their phones (the page's,
// read in one statement, in phoneapi's order: by person, then created_at
// and id) in included, and fields[people] and fields[phone_numbers]
// applied.
func (b *baseline) people(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	al, err := b.accountList(r)
	if err != nil {
		fail(w, http.StatusUnauthorized, err)
		return
	}
	q := r.URL.Query()
	p := pageOf(q)
	people, total, err := pageAndCount(ctx, b.r, p, scanPerson,
		`SELECT `+personColumns+` FROM people WHERE account_list_id = ? ORDER BY created_at, id`,
		`SELECT count(*) FROM people WHERE account_list_id = ?`, al)
	if err != nil {
		fail(w, http.StatusInternalServerError, err)
		return
	}
	doc := listDoc[personRes]{Data: make([]personRes, len(people))}
	var byPerson map[string]*[]identifier
	if q.Get("include") == "phone_numbers" {
		phones := []*phoneRow{}
		if len(people) > 0 {
			args := make([]any, len(people))
			for i, pe := range people {
				args[i] = pe.id
			}
			in := strings.Repeat("?, ", len(people)-1) + "?"
			if phones, err = queryRows(ctx, b.r, scanPhone,
				`SELECT `+phoneColumns+` FROM phones WHERE person_id IN (`+in+`) ORDER BY person_id, created_at, id`, args...); err != nil {
				fail(w, http.StatusInternalServerError, err)
				return
			}
		}
		byPerson = make(map[string]*[]identifier, len(people))
		included := make([]phoneRes, len(phones))
		f := fieldsOf(q, "phone_numbers")
		for i, ph := range phones {
			included[i] = ph.res(f)
			ids := byPerson[ph.personID]
			if ids == nil {
				ids = &[]identifier{}
				byPerson[ph.personID] = ids
			}
			*ids = append(*ids, identifier{ID: ph.id, Type: "phone_numbers"})
		}
		doc.Included = &included
	}
	f := fieldsOf(q, "people")
	for i, pe := range people {
		var phones *[]identifier
		if byPerson != nil {
			if phones = byPerson[pe.id]; phones == nil {
				phones = &[]identifier{}
			}
		}
		doc.Data[i] = pe.res(f, phones)
	}
	doc.Links, doc.Meta = p.tail(r.URL.Path, q, total)
	writeJSON(w, http.StatusOK, doc)
}

// body is the part of a JSON:API phone document the baseline reads.
type body struct {
	Data struct {
		Attributes struct {
			Number   string  `json:"number"`
			Location *string `json:"location"`
		} `json:"attributes"`
	} `json:"data"`
}

func (b *baseline) create(w http.ResponseWriter, r *http.Request) {
	var in body
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		fail(w, http.StatusBadRequest, err)
		return
	}
	now := time.Now().UnixMilli()
	p, err := scanPhone(b.w.QueryRowContext(r.Context(),
		`INSERT INTO phones (id, person_id, number, country_code, location, "primary", historic, source, valid_values, created_at, updated_at, updated_in_db_at)
		 VALUES (?, ?, ?, NULL, ?, 0, 0, 'MPDX', 1, ?, ?, ?) RETURNING `+phoneColumns,
		uuid.NewString(), r.PathValue("person"), in.Data.Attributes.Number, in.Data.Attributes.Location, now, now, now))
	if err != nil {
		fail(w, http.StatusInternalServerError, err)
		return
	}
	w.Header().Set("Location", r.URL.Path+"/"+url.PathEscape(p.id))
	writePhone(w, http.StatusCreated, p)
}

// update is a partial update of location guarded by If-Match; the check
// and the write are one statement.
func (b *baseline) update(w http.ResponseWriter, r *http.Request) {
	var in body
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		fail(w, http.StatusBadRequest, err)
		return
	}
	id, person := r.PathValue("id"), r.PathValue("person")
	ctx := r.Context()
	tx, err := b.w.BeginTx(ctx, nil)
	if err != nil {
		fail(w, http.StatusInternalServerError, err)
		return
	}
	defer tx.Rollback()
	var inDB int64
	if err := tx.QueryRowContext(ctx, `SELECT updated_in_db_at FROM phones WHERE id = ? AND person_id = ?`, id, person).Scan(&inDB); err != nil {
		fail(w, http.StatusInternalServerError, err)
		return
	}
	if m := r.Header.Get("If-Match"); m != "" && m != "*" && m != baselineETag(id, inDB) {
		http.Error(w, "precondition failed", http.StatusPreconditionFailed)
		return
	}
	now := time.Now().UnixMilli()
	p, err := scanPhone(tx.QueryRowContext(ctx,
		`UPDATE phones SET location = coalesce(?, location), updated_at = ?, updated_in_db_at = max(?, updated_in_db_at + 1)
		 WHERE id = ? RETURNING `+phoneColumns, in.Data.Attributes.Location, now, now, id))
	if err != nil {
		fail(w, http.StatusInternalServerError, err)
		return
	}
	if err := tx.Commit(); err != nil {
		fail(w, http.StatusInternalServerError, err)
		return
	}
	writePhone(w, http.StatusOK, p)
}

func (b *baseline) delete(w http.ResponseWriter, r *http.Request) {
	res, err := b.w.ExecContext(r.Context(), `DELETE FROM phones WHERE id = ? AND person_id = ?`, r.PathValue("id"), r.PathValue("person"))
	if err != nil {
		fail(w, http.StatusInternalServerError, err)
		return
	}
	if n, _ := res.RowsAffected(); n == 0 {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
