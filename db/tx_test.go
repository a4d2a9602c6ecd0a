package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/mattn/go-sqlite3"
)

func TestLanes(t *testing.T) {
	var l lanes
	ctx := t.Context()

	// One turn per key at a time; other keys are independent.
	relA, err := l.acquire(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	relB, err := l.acquire(ctx, "b")
	if err != nil {
		t.Fatalf("key b waited for key a: %v", err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := l.acquire(short, "a"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second acquire of a held key: %v, want context.DeadlineExceeded", err)
	}
	relB()

	// Waiters get the turn one at a time, each after the previous release.
	var inside, most atomic.Int32
	wait := goTogether(8, func(int) error {
		rel, err := l.acquire(ctx, "a")
		if err != nil {
			return err
		}
		n := inside.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		time.Sleep(time.Millisecond)
		inside.Add(-1)
		rel()
		return nil
	})
	time.Sleep(10 * time.Millisecond)
	relA()
	for _, err := range wait() {
		if err != nil {
			t.Error(err)
		}
	}
	if m := most.Load(); m != 1 {
		t.Errorf("%d callers held key a at once, want 1", m)
	}
	l.mu.Lock()
	left := len(l.m)
	l.mu.Unlock()
	if left != 0 {
		t.Errorf("%d lanes left after every turn ended, want 0", left)
	}
}

func TestClassify(t *testing.T) {
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	pg := func(code string) error { return &pgconn.PgError{Code: code, Message: "x"} }
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want error // nil: returned unchanged
	}{
		{"nil", nil, nil, nil},
		{"no rows", nil, sql.ErrNoRows, nil},
		{"constraint", nil, sqlite3.Error{Code: sqlite3.ErrConstraint, ExtendedCode: sqlite3.ErrConstraintUnique}, nil},
		{"sqlite full", nil, sqlite3.Error{Code: sqlite3.ErrFull}, ErrUnavailable},
		{"sqlite read-only", nil, sqlite3.Error{Code: sqlite3.ErrReadonly}, ErrUnavailable},
		{"sqlite busy", nil, sqlite3.Error{Code: sqlite3.ErrBusy}, ErrUnavailable},
		{"sqlite I/O", nil, sqlite3.Error{Code: sqlite3.ErrIoErr}, ErrUnavailable},
		{"pg unique", nil, pg("23505"), nil},
		{"pg syntax", nil, pg("42601"), nil},
		{"pg read-only", nil, pg("25006"), ErrUnavailable},
		{"pg disk full", nil, pg("53100"), ErrUnavailable},
		{"pg admin shutdown", nil, pg("57P01"), ErrUnavailable},
		{"pg cannot connect now", nil, pg("57P03"), ErrUnavailable},
		{"pg connection failure", nil, pg("08006"), ErrUnavailable},
		{"pg statement timeout", nil, pg("57014"), ErrUnavailable},
		{"connection lost", nil, fmt.Errorf("read: %w", io.ErrUnexpectedEOF), ErrUnavailable},
		{"ended context wins", ended, pg("57014"), context.Canceled},
		{"other", nil, errors.New("boom"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := classify(tt.ctx, tt.err)
			if tt.want == nil {
				if got != tt.err {
					t.Errorf("classify(%v) = %v, want it unchanged", tt.err, got)
				}
				return
			}
			if !errors.Is(got, tt.want) || !errors.Is(got, tt.err) {
				t.Errorf("classify(%v) = %v, want it to match %v and the cause", tt.err, got, tt.want)
			}
			if mapped := mapError(got); mapped != got {
				t.Errorf("mapError(classify(%v)) = %v, want it unchanged", tt.err, mapped)
			}
		})
	}
}

// Deadlines and outages: a write whose context ends while another
// connection holds the lock it needs returns the context's error in time
// and writes nothing; writes of other account lists and reads carry on.

func TestWriteDeadlineWithLockHeld(t *testing.T) { forEachBackend(t, testWriteDeadlineWithLockHeld) }

func testWriteDeadlineWithLockHeld(t *testing.T) {
	s, _ := newStore(t)
	ctx := t.Context()
	a, b := newPerson(t, s), newPerson(t, s)
	pa := mustPhone(t, s, a, NewPhone{Number: "+1 1"})
	before := snapshot(t, s)

	release := holdLock(t, s, a.AccountListID)
	const deadline = 300 * time.Millisecond
	for _, w := range []struct {
		name  string
		write func(ctx context.Context) error
	}{
		{"CreatePhone", func(ctx context.Context) error {
			_, err := s.CreatePhone(ctx, a, NewPhone{Number: "+1 2"})
			return err
		}},
		{"UpdatePhone", func(ctx context.Context) error {
			_, err := s.UpdatePhone(ctx, a, pa.ID, PhoneUpdate{Number: ptr("+1 3")}, nil)
			return err
		}},
		{"DeletePhone", func(ctx context.Context) error { return s.DeletePhone(ctx, a, pa.ID, nil) }},
		{"UpdateContact", func(ctx context.Context) error {
			_, err := s.UpdateContact(ctx, a.AccountListID, a.ContactID, ContactUpdate{Name: ptr("x")}, nil)
			return err
		}},
	} {
		wctx, cancel := context.WithTimeout(ctx, deadline)
		start := time.Now()
		err := w.write(wctx)
		took := time.Since(start)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s with the lock held: %v, want an error matching context.DeadlineExceeded", w.name, err)
		}
		if took > deadline+500*time.Millisecond {
			t.Errorf("%s with the lock held returned after %v, want about the deadline %v", w.name, took, deadline)
		}
	}

	// Reads of the locked account list go on on both engines; on
	// PostgreSQL writes of another account list too.
	start := time.Now()
	if _, err := s.Phone(ctx, a, pa.ID); err != nil {
		t.Errorf("Phone with the lock held: %v", err)
	}
	if _, _, err := s.ListPhones(ctx, a, ListQuery{}); err != nil {
		t.Errorf("ListPhones with the lock held: %v", err)
	}
	if backendOf(t) == "postgres" {
		if _, err := s.CreatePhone(ctx, b, NewPhone{Number: "+1 4"}); err != nil {
			t.Errorf("CreatePhone in another account list with the lock held: %v", err)
		}
	}
	if took := time.Since(start); took > deadline {
		t.Errorf("reads (and another account list's write) took %v with the lock held", took)
	}
	release()

	// The refused writes left nothing; A writes again.
	if backendOf(t) == "sqlite" {
		if got := snapshot(t, s); got != before {
			t.Errorf("the refused writes changed the database:\nbefore %s\nafter  %s", before, got)
		}
	}
	if got, err := s.Phone(ctx, a, pa.ID); err != nil || got.Number != pa.Number || !got.UpdatedInDBAt.Equal(pa.UpdatedInDBAt) {
		t.Errorf("after the lock: %+v, %v; want the phone unchanged", got, err)
	}
	wantCount(t, s, 1, `SELECT COUNT(*) FROM phones WHERE person_id = ?`, a.PersonID)
	if _, err := s.CreatePhone(ctx, a, NewPhone{Number: "+1 5"}); err != nil {
		t.Errorf("CreatePhone after the lock: %v", err)
	}
}
