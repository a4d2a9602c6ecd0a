package db

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// holdWriter runs a write that blocks until the returned release is
// called, so that the writes submitted meanwhile queue up.
func holdWriter(t *testing.T, s *Store) (release func()) {
	t.Helper()
	started, unblock := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.inTx(context.Background(), func(tx conn) error {
			close(started)
			<-unblock
			return nil
		})
	}()
	<-started
	return func() {
		close(unblock)
		if err := <-done; err != nil {
			t.Errorf("holding write: %v", err)
		}
	}
}

// waitSubmitted waits until n writes have been submitted in all.
func waitSubmitted(t *testing.T, s *Store, n int64) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); s.commits.submitted.Load() < n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d writes submitted, want %d", s.commits.submitted.Load(), n)
		}
	}
}

func settingExists(t *testing.T, s *Store, key string) bool {
	t.Helper()
	ok, err := exists(t.Context(), s.reader(), `SELECT 1 FROM settings WHERE key = ?`, key)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// TestGroupCommit: writes queued behind a busy writer share a few commits;
// each failing write — an error of its own after writing, or a constraint
// violation — leaves nothing and does not disturb the others.
func TestGroupCommit(t *testing.T) {
	s := openSQLite(t, "gc.db")
	ctx := t.Context()
	if _, err := s.InitSetting(ctx, "taken", "x"); err != nil {
		t.Fatal(err)
	}
	errPlanted := errors.New("planted failure")
	type write struct {
		key     string
		fail    bool  // writes, then returns errPlanted
		wantErr error // nil for a write that must commit
	}
	var writes []write
	for i := range 30 {
		switch i % 3 {
		case 0, 1:
			writes = append(writes, write{key: fmt.Sprintf("ok-%d", i)})
		case 2:
			writes = append(writes, write{key: fmt.Sprintf("fail-%d", i), fail: true, wantErr: errPlanted})
		}
	}
	writes = append(writes, write{key: "taken", wantErr: ErrConflict})

	commitsBefore := s.commits.commits.Load()
	submittedBefore := s.commits.submitted.Load()
	release := holdWriter(t, s)
	wait := goTogether(len(writes), func(i int) error {
		w := writes[i]
		return s.inTx(ctx, func(tx conn) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)`, w.key, "v"); err != nil {
				return mapError(err)
			}
			if w.fail {
				return errPlanted
			}
			return nil
		})
	})
	waitSubmitted(t, s, submittedBefore+1+int64(len(writes)))
	release()
	errs := wait()

	for i, w := range writes {
		switch {
		case w.wantErr == nil && errs[i] != nil:
			t.Errorf("%s: %v, want it committed", w.key, errs[i])
		case w.wantErr != nil && !errors.Is(errs[i], w.wantErr):
			t.Errorf("%s: %v, want %v", w.key, errs[i], w.wantErr)
		}
		if w.fail && settingExists(t, s, w.key) {
			t.Errorf("%s: a failed write's row was committed", w.key)
		}
		if w.wantErr == nil && !settingExists(t, s, w.key) {
			t.Errorf("%s: an acknowledged write is missing", w.key)
		}
	}
	// The holding write is one commit; the 31 queued writes must have
	// shared a few (a late arrival may start another batch).
	if commits := s.commits.commits.Load() - commitsBefore; commits > 4 {
		t.Errorf("%d commits for 1 + %d writes; want them batched (at most 4)", commits, len(writes))
	}
}

// TestGroupCommitCancelledWhileQueued: a write whose context ends while it
// waits is answered with the context's error and never runs.
func TestGroupCommitCancelledWhileQueued(t *testing.T) {
	s := openSQLite(t, "gc.db")
	release := holdWriter(t, s)
	submitted := s.commits.submitted.Load()
	ctx, cancel := context.WithCancel(t.Context())
	ran := make(chan struct{}, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- s.inTx(ctx, func(tx conn) error { ran <- struct{}{}; return nil })
	}()
	waitSubmitted(t, s, submitted+1)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled write: %v, want context.Canceled", err)
	}
	release()
	select {
	case <-ran:
		t.Error("the cancelled write ran")
	default:
	}
}

// TestGroupCommitClose: writes waiting when the store closes, and writes
// after, get an error instead of hanging.
func TestGroupCommitClose(t *testing.T) {
	s := openSQLite(t, "gc.db")
	release := holdWriter(t, s)
	submitted := s.commits.submitted.Load()
	errc := make(chan error, 1)
	go func() { errc <- s.inTx(context.Background(), func(conn) error { return nil }) }()
	waitSubmitted(t, s, submitted+1)
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	release()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		// The committer may take it before it sees the close (then it
		// commits) or not (then it is refused); either way it is answered.
		if !errors.Is(err, errClosed) && err != nil {
			t.Errorf("write waiting at Close: %v, want errClosed or success", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a write waiting at Close hung")
	}
	if err := s.inTx(context.Background(), func(conn) error { return nil }); !errors.Is(err, errClosed) {
		t.Errorf("write after Close: %v, want errClosed", err)
	}
}

// TestGroupCommitPanic: a write that panics fails alone — its own writes
// rolled back, the writes batched with it committed — and the committer
// keeps serving.
func TestGroupCommitPanic(t *testing.T) {
	s := openSQLite(t, "gc.db")
	ctx := t.Context()
	insert := func(key string, panics bool) func(conn) error {
		return func(tx conn) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, 'v')`, key); err != nil {
				return err
			}
			if panics {
				panic("planted bug")
			}
			return nil
		}
	}
	for _, batched := range []bool{false, true} {
		t.Run(fmt.Sprintf("batched=%v", batched), func(t *testing.T) {
			release := func() {}
			submitted := s.commits.submitted.Load()
			if batched {
				release = holdWriter(t, s)
				submitted++
			}
			bad, good := fmt.Sprintf("bad-%v", batched), fmt.Sprintf("good-%v", batched)
			n, panics := 1, 0
			if batched {
				n = 2
			}
			// Write 0 panics; write 1, when batched, does not.
			wait := goTogether(n, func(i int) error {
				if i == 0 {
					return s.inTx(ctx, insert(bad, true))
				}
				return s.inTx(ctx, insert(good, false))
			})
			if batched {
				waitSubmitted(t, s, submitted+2)
			}
			release()
			for _, err := range wait() {
				if err != nil {
					if !strings.Contains(err.Error(), "panic in a write transaction: planted bug") {
						t.Errorf("error %v, want the panic", err)
					}
					panics++
				}
			}
			if panics != 1 {
				t.Errorf("%d writes failed, want the panicking one only", panics)
			}
			if settingExists(t, s, bad) {
				t.Error("the panicking write's row was committed")
			}
			if batched && !settingExists(t, s, good) {
				t.Error("the write batched with the panicking one is missing")
			}
		})
	}
	if err := s.inTx(ctx, insert("after", false)); err != nil || !settingExists(t, s, "after") {
		t.Errorf("write after the panics: %v", err)
	}
}
