package e2e

// TestLockHeldDeadline holds a database lock from outside phoneapi, as an
// operator's session or a stuck transaction would, and checks what clients
// see, once per engine, against one `phoneapi serve --request-timeout 1s`:
//
//   - SQLite: another connection holds BEGIN IMMEDIATE (the database's
//     write lock). Writes get 503 with Retry-After and a JSON:API error
//     within the deadline + 1 s; reads carry on.
//   - PostgreSQL: another session holds user A's account list row FOR
//     UPDATE (the account list's write lock). A's writes get 503 within the
//     deadline + 1 s; A's reads and user B's reads and writes carry on.
//
// After the lock is released nothing of the refused writes is stored,
// and writes work again.

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	_ "github.com/mattn/go-sqlite3" // the SQLite variant's lock holder

	"github.com/phoneapi/phoneapi/generated/client"
)

// lockTimeout is the servers' --request-timeout in this test.
const lockTimeout = time.Second

func TestLockHeldDeadline(t *testing.T) {
	forEachEngine(t, "deadline.db", runLockHeld)
}

// lockUser is a user of the test: its token and its contact, person and
// phone, created before the lock is taken.
type lockUser struct {
	id, token string
	c         *client.ClientWithResponses
	cid, pid  uuid.UUID
	phone     client.PhoneResource
}

func runLockHeld(t *testing.T, engine, dsn string) {
	ctx := context.Background()
	secret := newSecret(t)
	srv := serve(t, "server", "--db", dsn, "--jwt-secret", secret, "--rate-limit", "0", "--request-timeout", lockTimeout.String())

	hc := &http.Client{Timeout: 30 * time.Second}
	var users [2]*lockUser
	for i := range users {
		u := &lockUser{id: uuid.NewString()}
		u.token = newToken(t, secret, u.id)
		u.c = clientAt(t, srv.URL, u.token, hc)
		u.cid = newContact(t, u.c, fmt.Sprintf("Deadline %c", 'A'+i))
		u.pid = newPerson(t, u.c, u.cid, "Person")
		u.phone = newPhone(t, u.c, u.cid, u.pid, "(617) 555-1212")
		users[i] = u
	}
	a, b := users[0], users[1]

	release := holdLock(t, engine, dsn, a.id)
	held := time.Now()

	// A's writes: 503 with Retry-After within the deadline + 1 s.
	for _, w := range []struct {
		name string
		send func() (*http.Response, []byte, error)
	}{
		{"POST A's phone", func() (*http.Response, []byte, error) {
			resp, body, _, err := postPhone(ctx, a.c, a.cid, a.pid, "+1 617 555 0199", "")
			return resp, body, err
		}},
		{"PATCH A's phone", func() (*http.Response, []byte, error) {
			return patchLocation(ctx, a.c, a.cid, a.pid, uuid.MustParse(a.phone.Id), "during the lock")
		}},
	} {
		start := time.Now()
		resp, body, err := w.send()
		took := time.Since(start)
		want503(t, w.name, resp, body, err)
		if took > lockTimeout+time.Second {
			t.Errorf("%s took %v with the lock held, want at most the deadline %v + 1s", w.name, took, lockTimeout)
		}
		t.Logf("%s: %s with the lock held: 503 in %v", engine, w.name, took.Round(time.Millisecond))
	}

	// Reads go on: A's on both engines (SQLite's readers do not wait for
	// the writer in WAL mode), and on PostgreSQL B's writes too.
	start := time.Now()
	g, err := a.c.GetPhoneWithResponse(ctx, a.cid, a.pid, uuid.MustParse(a.phone.Id), nil)
	wantStatus(t, "GET A's phone with the lock held", g, err, http.StatusOK)
	l, err := a.c.ListPhonesWithResponse(ctx, a.cid, a.pid, nil)
	wantStatus(t, "list A's phones with the lock held", l, err, http.StatusOK)
	if took := time.Since(start); took > lockTimeout {
		t.Errorf("two reads of A took %v with the lock held, want them not to wait for the lock (under the deadline %v)", took, lockTimeout)
	}
	if engine == "postgres" {
		start := time.Now()
		body := locationUpdate("B writes on")
		body.Data.Attributes.Overwrite = ptr(true)
		r, err := b.c.PatchPhoneWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, b.cid, b.pid, uuid.MustParse(b.phone.Id), nil, body)
		wantStatus(t, "PATCH B's phone with A's lock held", r, err, http.StatusOK)
		p := newPhone(t, b.c, b.cid, b.pid, "+1 617 555 0100")
		if took := time.Since(start); took > lockTimeout {
			t.Errorf("B's PATCH and POST took %v with A's lock held, want them not to wait for the lock (under the deadline %v)", took, lockTimeout)
		}
		if p.Id == "" {
			t.Error("B's POST returned no id")
		}
	}
	release()
	t.Logf("%s: lock held for %v", engine, time.Since(held).Round(time.Millisecond))

	// Nothing of A's refused writes is stored, and A can write again.
	l, err = a.c.ListPhonesWithResponse(ctx, a.cid, a.pid, nil)
	wantStatus(t, "list A's phones after the lock", l, err, http.StatusOK)
	phones := l.ApplicationvndApiJSON200.Data
	if len(phones) != 1 || phones[0].Id != a.phone.Id {
		t.Errorf("after the lock A's person has %d phones, want only the one created before it", len(phones))
	}
	if len(phones) > 0 && phones[0].Attributes.Location.IsSpecified() && !phones[0].Attributes.Location.IsNull() &&
		phones[0].Attributes.Location.MustGet() == "during the lock" {
		t.Error("the PATCH answered 503 was stored")
	}
	newPhone(t, a.c, a.cid, a.pid, "+1 617 555 0101")
}

// holdLock takes, from a connection of its own, the lock that user's
// writes need: SQLite's write lock, or on PostgreSQL the user's account
// list row. It returns the function that releases it (also called when
// the test ends).
func holdLock(t *testing.T, engine, dsn, user string) (release func()) {
	t.Helper()
	ctx := context.Background()
	driver, src := "sqlite3", "file:"+dsn+"?_busy_timeout=5000"
	if engine == "postgres" {
		driver, src = "pgx", dsn
	}
	pool, err := sql.Open(driver, src)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pool.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if engine == "sqlite" {
		_, err = conn.ExecContext(ctx, `BEGIN IMMEDIATE`)
	} else if _, err = conn.ExecContext(ctx, `BEGIN`); err == nil {
		var hw int64
		err = conn.QueryRowContext(ctx, `SELECT a.hw FROM account_lists a JOIN users u ON u.account_list_id = a.id
			WHERE u.id = $1 FOR UPDATE OF a`, user).Scan(&hw)
	}
	if err != nil {
		t.Fatalf("take the lock: %v", err)
	}
	done := false
	release = func() {
		if done {
			return
		}
		done = true
		if _, err := conn.ExecContext(ctx, `ROLLBACK`); err != nil {
			t.Errorf("release the lock: %v", err)
		}
		conn.Close()
		pool.Close()
	}
	t.Cleanup(release)
	return release
}
