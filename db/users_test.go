package db

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/phoneapi/phoneapi/db/dbtest"
)

// waitingCalls returns a function that waits until at least want
// EnsureUser calls made since wait for the lock the test holds (on SQLite:
// writes submitted to the group commit; on PostgreSQL: inserts of a user
// waiting for a lock), and returns how many do.
func waitingCalls(t *testing.T, s *Store) func(want int) int {
	var base int64
	if s.Engine() == "sqlite" {
		base = s.commits.submitted.Load()
	}
	return func(want int) int {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			var n int
			if s.Engine() == "sqlite" {
				n = int(s.commits.submitted.Load() - base)
			} else if err := pgAdmin.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO users%'`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n >= want {
				return n
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d calls wait for the lock, want %d", n, want)
			}
		}
	}
}

func TestEnsureUser(t *testing.T) { forEachBackend(t, testEnsureUser) }

func testEnsureUser(t *testing.T) {
	s, _ := newStore(t)
	ctx := t.Context()
	user := "3F2504E0-4F89-11D3-9A0C-0305E82C3301"

	al, err := s.EnsureUser(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := uuid.Parse(al); err != nil || al != strings.ToLower(al) {
		t.Errorf("account list id %q, want a lower-case UUID", al)
	}
	for _, id := range []string{user, strings.ToLower(user)} {
		again, err := s.EnsureUser(ctx, id)
		if err != nil || again != al {
			t.Errorf("EnsureUser(%q) = %q, %v; want %q", id, again, err, al)
		}
	}
	other, err := s.EnsureUser(ctx, uuid.NewString())
	if err != nil || other == al {
		t.Errorf("second user got account list %q, %v; want a new one", other, err)
	}
	wantCount(t, s, 1, `SELECT COUNT(*) FROM users WHERE id = ?`, strings.ToLower(user))
	wantCount(t, s, 2, `SELECT COUNT(*) FROM account_lists`)
	if list, total, err := s.ListContacts(ctx, al, ListQuery{}); err != nil || len(list) != 0 || total != 0 {
		t.Errorf("ListContacts of new account list = %v, %d, %v", list, total, err)
	}
	if _, err := s.EnsureUser(ctx, ""); err == nil {
		t.Error("EnsureUser(\"\") succeeded")
	}
}

// TestEnsureUserConcurrent: 20 first calls for one user, released at
// once, all get the same account list, and one account list and one user
// exist afterwards. The calls are held back until all wait at once: on
// SQLite behind the write lock; on PostgreSQL at the insert of the user,
// behind another transaction's uncommitted insert of it, so that the
// calls race each other there and the losers must roll back the account
// lists they created.
func TestEnsureUserConcurrent(t *testing.T) { forEachBackend(t, testEnsureUserConcurrent) }

func testEnsureUserConcurrent(t *testing.T) {
	s, _ := newStore(t)
	ctx := t.Context()
	user := uuid.NewString()

	const n = 20
	var release func()
	if s.Engine() == "sqlite" {
		release = holdLock(t, s, "")
	} else {
		release = holdPGRow(t, s, fmt.Sprintf(`WITH al AS (INSERT INTO account_lists (id, created_at) VALUES ('%s', 0) RETURNING id)
			INSERT INTO users (id, account_list_id, created_at) SELECT '%s', id, 0 FROM al`, uuid.NewString(), user))
	}
	// Every call waits, or on PostgreSQL as many as the writer pool has
	// connections for.
	want := n
	if s.Engine() == "postgres" {
		want = min(n, s.PoolStats()["write"].MaxOpenConnections)
	}
	waiting := waitingCalls(t, s)
	wait := goTogether(n, func(int) result[string] { return resultOf(s.EnsureUser(ctx, user)) })
	waited := waiting(want)
	release()
	results := wait()
	t.Logf("%d calls waited at once", waited)
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("call %d: %v", i, r.err)
		}
		if r.v != results[0].v {
			t.Fatalf("call %d got %q, call 0 got %q", i, r.v, results[0].v)
		}
	}
	wantCount(t, s, 1, `SELECT COUNT(*) FROM account_lists`)
	wantCount(t, s, 1, `SELECT COUNT(*) FROM users WHERE id = ? AND account_list_id = ?`, user, results[0].v)
	wantCount(t, s, 1, `SELECT COUNT(*) FROM users`)
}

func TestInitSetting(t *testing.T) { forEachBackend(t, testInitSetting) }

func testInitSetting(t *testing.T) {
	s, _ := newStore(t)
	ctx := t.Context()

	_, err := s.Setting(ctx, "secret")
	wantErr(t, err, ErrNotFound)

	v, err := s.InitSetting(ctx, "secret", "first")
	if err != nil || v != "first" {
		t.Fatalf("InitSetting = %q, %v; want first", v, err)
	}
	v, err = s.InitSetting(ctx, "secret", "second")
	if err != nil || v != "first" {
		t.Fatalf("InitSetting again = %q, %v; want the stored first", v, err)
	}
	v, err = s.Setting(ctx, "secret")
	if err != nil || v != "first" {
		t.Fatalf("Setting = %q, %v; want first", v, err)
	}
	if v, err := s.InitSetting(ctx, "Secret", "other key"); err != nil || v != "other key" {
		t.Errorf("keys are case-sensitive: InitSetting(Secret) = %q, %v", v, err)
	}
}

func TestInitSettingConcurrent(t *testing.T) { forEachBackend(t, testInitSettingConcurrent) }

func testInitSettingConcurrent(t *testing.T) {
	s, _ := newStore(t)
	ctx := t.Context()
	results := dbtest.Together(20, func(i int) result[string] { return resultOf(s.InitSetting(ctx, "k", fmt.Sprint(i))) })
	stored, err := s.Setting(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range results {
		if r.err != nil || r.v != stored {
			t.Errorf("call %d = %q, %v; want stored %q", i, r.v, r.err, stored)
		}
	}
}
