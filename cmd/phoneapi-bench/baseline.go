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
// the six operations of the workload on phoneapi's schema, without
// validation, authentication or a framework.
type baseline struct {
	w, r *sql.DB
	srv  *http.Server
	base string
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

// phoneColumns are the columns of a phone, in the order scanPhone reads them.
const phoneColumns = `id, number, country_code, location, "primary", historic, source, valid_values, created_at, updated_at, updated_in_db_at`

// phone is a phones row as the baseline renders it.
type phone struct {
	ID         string     `json:"id"`
	Type       string     `json:"type"`
	Attributes phoneAttrs `json:"attributes"`
	inDB       int64
}

type phoneAttrs struct {
	Number        string  `json:"number"`
	CountryCode   *string `json:"country_code"`
	Location      *string `json:"location"`
	Primary       bool    `json:"primary"`
	Historic      bool    `json:"historic"`
	Source        string  `json:"source"`
	ValidValues   bool    `json:"valid_values"`
	CreatedAt     string  `json:"created_at"`
	UpdatedAt     string  `json:"updated_at"`
	UpdatedInDBAt string  `json:"updated_in_db_at"`
}

type scanner interface{ Scan(...any) error }

func scanPhone(s scanner) (*phone, error) {
	var p phone
	var created, updated int64
	a := &p.Attributes
	if err := s.Scan(&p.ID, &a.Number, &a.CountryCode, &a.Location, &a.Primary, &a.Historic, &a.Source, &a.ValidValues, &created, &updated, &p.inDB); err != nil {
		return nil, err
	}
	p.Type = "phone_numbers"
	a.CreatedAt, a.UpdatedAt, a.UpdatedInDBAt = msTime(created), msTime(updated), msTime(p.inDB)
	return &p, nil
}

func msTime(ms int64) string { return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z") }

// baselineETag is phoneapi's entity tag: a digest of id and updated_in_db_at.
func baselineETag(id string, inDB int64) string {
	sum := sha256.Sum256([]byte(id + "@" + strconv.FormatInt(inDB, 10)))
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/vnd.api+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writePhone(w http.ResponseWriter, status int, p *phone) {
	w.Header().Set("ETag", baselineETag(p.ID, p.inDB))
	writeJSON(w, status, map[string]any{"data": p})
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

func (b *baseline) list(w http.ResponseWriter, r *http.Request) {
	rows, err := b.r.QueryContext(r.Context(), `SELECT `+phoneColumns+` FROM phones WHERE person_id = ? ORDER BY created_at, id LIMIT 25`, r.PathValue("person"))
	if err != nil {
		fail(w, http.StatusInternalServerError, err)
		return
	}
	defer rows.Close()
	list := []*phone{}
	for rows.Next() {
		p, err := scanPhone(rows)
		if err != nil {
			fail(w, http.StatusInternalServerError, err)
			return
		}
		list = append(list, p)
	}
	if err := rows.Err(); err != nil {
		fail(w, http.StatusInternalServerError, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": list})
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
	w.Header().Set("Location", r.URL.Path+"/"+url.PathEscape(p.ID))
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
