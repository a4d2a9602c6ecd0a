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
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	_ "github.com/mattn/go-sqlite3" // the SQLite variant's lock holder
	"github.com/oapi-codegen/nullable"

	"github.com/phoneapi/phoneapi/generated/client"
)

// dlTimeout is the servers' --request-timeout in this test.
const dlTimeout = time.Second

func TestLockHeldDeadline(t *testing.T) {
	if serverBin == "" {
		t.Skip("no phoneapi binary built (PHONEAPI_E2E_URL or -short): the test starts a server of its own")
	}
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			var dsn string
			if engine == "sqlite" {
				dsn = filepath.Join(t.TempDir(), "deadline.db")
			} else {
				dsn = rpPostgresDB(t)
			}
			dlRun(t, engine, dsn)
		})
	}
}

// dlUser is a user of the test: its token and its contact, person and
// phone, created before the lock is taken.
type dlUser struct {
	id, token string
	c         *client.ClientWithResponses
	cid, pid  uuid.UUID
	phone     client.PhoneResource
}

func dlRun(t *testing.T, engine, dsn string) {
	ctx := context.Background()
	secretBuf := make([]byte, 32)
	if _, err := rand.Read(secretBuf); err != nil {
		t.Fatal(err)
	}
	secret := hex.EncodeToString(secretBuf)
	proc, addr, err := spawn(serverBin, "serve", "--addr", "127.0.0.1:0", "--db", dsn, "--jwt-secret", secret,
		"--rate-limit", "0", "--request-timeout", dlTimeout.String())
	if err != nil {
		t.Fatal(err)
	}
	srv := &rpServer{server: proc, name: "server"}
	t.Cleanup(func() {
		if !srv.stopped {
			if err := srv.stop(); err != nil {
				t.Errorf("server: %v", err)
			}
		}
		if t.Failed() {
			t.Logf("server log:\n%s", srv.log())
		}
	})
	select {
	case srv.url = <-addr:
	case err := <-srv.done:
		srv.stopped = true
		t.Fatalf("server exited before listening (%v):\n%s", err, srv.log())
	case <-time.After(60 * time.Second):
		t.Fatalf("no \"listening\" log line within 60s:\n%s", srv.log())
	}

	hc := &http.Client{Timeout: 30 * time.Second}
	var users [2]*dlUser
	for i := range users {
		u := &dlUser{id: uuid.NewString()}
		u.token = dlToken(t, secret, u.id)
		u.c = rpClient(t, srv.url, u.token, hc)
		body := client.ContactCreateDocument{}
		body.Data.Type = "contacts"
		body.Data.Attributes.Name = fmt.Sprintf("Deadline %c", 'A'+i)
		r, err := u.c.CreateContactWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, nil, body)
		wantStatus(t, "create contact", r, err, http.StatusCreated)
		u.cid = uuid.MustParse(r.ApplicationvndApiJSON201.Data.Id)
		u.pid = rpPerson(t, u.c, u.cid, "Person")
		u.phone = rpPhone(t, u.c, u.cid, u.pid, "(617) 555-1212")
		users[i] = u
	}
	a, b := users[0], users[1]

	release := dlHoldLock(t, engine, dsn, a.id)
	held := time.Now()

	// A's writes: 503 with Retry-After within the deadline + 1 s.
	for _, w := range []struct {
		name string
		send func() (*http.Response, []byte, error)
	}{
		{"POST A's phone", func() (*http.Response, []byte, error) {
			body := client.PhoneCreateDocument{}
			body.Data.Type = "phone_numbers"
			body.Data.Attributes.Number = rawString("+1 617 555 0199")
			r, err := a.c.CreatePhoneWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, a.cid, a.pid, nil, body)
			if err != nil {
				return nil, nil, err
			}
			return r.HTTPResponse, r.Body, nil
		}},
		{"PATCH A's phone", func() (*http.Response, []byte, error) {
			body := client.PhoneUpdateDocument{}
			body.Data.Type = "phone_numbers"
			body.Data.Attributes.Location = nullable.NewNullableWithValue("during the lock")
			body.Data.Attributes.Overwrite = ptr(true)
			r, err := a.c.PatchPhoneWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, a.cid, a.pid, uuid.MustParse(a.phone.Id), nil, body)
			if err != nil {
				return nil, nil, err
			}
			return r.HTTPResponse, r.Body, nil
		}},
	} {
		start := time.Now()
		resp, body, err := w.send()
		took := time.Since(start)
		dlWant503(t, w.name, resp, body, err)
		if took > dlTimeout+time.Second {
			t.Errorf("%s took %v with the lock held, want at most the deadline %v + 1s", w.name, took, dlTimeout)
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
	if took := time.Since(start); took > dlTimeout {
		t.Errorf("two reads of A took %v with the lock held, want them not to wait for the lock (under the deadline %v)", took, dlTimeout)
	}
	if engine == "postgres" {
		start := time.Now()
		body := client.PhoneUpdateDocument{}
		body.Data.Type = "phone_numbers"
		body.Data.Attributes.Location = nullable.NewNullableWithValue("B writes on")
		body.Data.Attributes.Overwrite = ptr(true)
		r, err := b.c.PatchPhoneWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, b.cid, b.pid, uuid.MustParse(b.phone.Id), nil, body)
		wantStatus(t, "PATCH B's phone with A's lock held", r, err, http.StatusOK)
		p := rpPhone(t, b.c, b.cid, b.pid, "+1 617 555 0100")
		if took := time.Since(start); took > dlTimeout {
			t.Errorf("B's PATCH and POST took %v with A's lock held, want them not to wait for the lock (under the deadline %v)", took, dlTimeout)
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
	rpPhone(t, a.c, a.cid, a.pid, "+1 617 555 0101")
}

// dlToken mints a token for user id with secret.
func dlToken(t *testing.T, secret, id string) string {
	t.Helper()
	cmd := exec.Command(serverBin, "token", "--jwt-secret", secret, "--user", id, "--ttl", "1h")
	cmd.Env = cleanEnv()
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("phoneapi token: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// dlHoldLock takes, from a connection of its own, the lock that user's
// writes need: SQLite's write lock, or on PostgreSQL the user's account
// list row. It returns the function that releases it (also called when
// the test ends).
func dlHoldLock(t *testing.T, engine, dsn, user string) (release func()) {
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

// dlWant503 checks a 503 answer: Retry-After in whole seconds, and a
// JSON:API error document with status "503".
func dlWant503(t *testing.T, what string, resp *http.Response, body []byte, err error) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("%s: status %d, want 503; body %s", what, resp.StatusCode, body)
		return
	}
	if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 1 {
		t.Errorf("%s: Retry-After %q, want whole seconds ≥ 1", what, resp.Header.Get("Retry-After"))
	}
	var doc client.ErrorDocument
	if err := json.Unmarshal(body, &doc); err != nil || len(doc.Errors) != 1 || doc.Errors[0].Status != "503" {
		t.Errorf("%s: body %s, want one JSON:API error with status \"503\" (%v)", what, body, err)
	}
}
