package db

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestIdempotencyKey: a create under a key stores it with the row; until
// its response is recorded a retry is in progress, then it replays the
// recorded response without writing; another request with the key is
// refused; keys are the user's; an expired key is free again; a failed
// create leaves its key free; a response never recorded is replayed as
// the resource's id once Pending has passed.
func TestIdempotencyKey(t *testing.T) { forEachBackend(t, testIdempotencyKey) }

func testIdempotencyKey(t *testing.T) {
	s, clock := newStore(t)
	ctx := t.Context()
	al := newAccountList(t, s)
	user := uuid.NewString()
	key := &Key{UserID: user, Key: "k1", Hash: "h1", Pending: time.Minute}
	contacts := func() int {
		return count(t, s, `SELECT COUNT(*) FROM contacts WHERE account_list_id = ?`, al)
	}

	c1, err := s.CreateContactOnce(ctx, Contact{AccountListID: al, Name: "first"}, key)
	if err != nil {
		t.Fatalf("create under a new key: %v", err)
	}
	_, err = s.CreateContactOnce(ctx, Contact{AccountListID: al, Name: "first"}, key)
	wantErr(t, err, ErrKeyInProgress)

	sent := Response{Status: 201, Location: "/api/v2/contacts/" + c1.ID, ETag: `"tag"`, Body: []byte(`{"data":{}}` + "\n")}
	if err := s.RecordResponse(ctx, key, sent); err != nil {
		t.Fatalf("RecordResponse: %v", err)
	}
	// Recording again changes nothing: the first response stays.
	if err := s.RecordResponse(ctx, key, Response{Status: 500}); err != nil {
		t.Fatalf("RecordResponse again: %v", err)
	}
	_, err = s.CreateContactOnce(ctx, Contact{AccountListID: al, Name: "first"}, key)
	var replay *ReplayError
	if !errors.As(err, &replay) || !errors.Is(err, ErrReplay) {
		t.Fatalf("retry: err %v, want a *ReplayError", err)
	}
	got := replay.Response
	if replay.ResourceID != c1.ID || got.Status != sent.Status || got.Location != sent.Location ||
		got.ETag != sent.ETag || !bytes.Equal(got.Body, sent.Body) {
		t.Errorf("replay %+v (body %q), want resource %s and %+v", replay, got.Body, c1.ID, sent)
	}
	if n := contacts(); n != 1 {
		t.Errorf("%d contacts after the retry, want 1", n)
	}

	// The same key for another request.
	_, err = s.CreateContactOnce(ctx, Contact{AccountListID: al, Name: "other"}, &Key{UserID: user, Key: "k1", Hash: "h2", Pending: time.Minute})
	wantErr(t, err, ErrKeyReused)
	if n := contacts(); n != 1 {
		t.Errorf("%d contacts after a reused key, want 1", n)
	}

	// Another user's key of the same name is another key.
	other := newAccountList(t, s)
	if _, err := s.CreateContactOnce(ctx, Contact{AccountListID: other, Name: "first"}, &Key{UserID: uuid.NewString(), Key: "k1", Hash: "h1"}); err != nil {
		t.Errorf("another user's create under the same key: %v", err)
	}

	// A create that fails stores nothing: its retry creates.
	c := mustContact(t, s, Contact{AccountListID: al, Name: "parent"})
	pk := &Key{UserID: user, Key: "person", Hash: "hp", Pending: time.Minute}
	missing := Scope{AccountListID: al, ContactID: uuid.NewString()}
	if _, err := s.CreatePersonOnce(ctx, missing, Person{FirstName: "Jane"}, pk); !errors.As(err, new(*ScopeError)) {
		t.Fatalf("create under a missing contact: %v, want a *ScopeError", err)
	}
	p, err := s.CreatePersonOnce(ctx, contactScope(c), Person{FirstName: "Jane"}, pk)
	if err != nil {
		t.Fatalf("retry after a failed create: %v", err)
	}
	// Its response is never recorded (the process stopped): in progress
	// for Pending, then replayed as the resource's id alone.
	_, err = s.CreatePersonOnce(ctx, contactScope(c), Person{FirstName: "Jane"}, pk)
	wantErr(t, err, ErrKeyInProgress)
	clock.Add(pk.Pending)
	_, err = s.CreatePersonOnce(ctx, contactScope(c), Person{FirstName: "Jane"}, pk)
	if !errors.As(err, &replay) || replay.ResourceID != p.ID || replay.Response.Status != 0 {
		t.Fatalf("retry of an unrecorded create after Pending: %v (%+v), want a *ReplayError of %s without a response", err, replay, p.ID)
	}
	wantCount(t, s, 1, `SELECT COUNT(*) FROM people WHERE contact_id = ?`, c.ID)

	// A phone: the retry writes nothing, not even the person's touch.
	sc := contactScope(c)
	sc.PersonID = p.ID
	phk := &Key{UserID: user, Key: "phone", Hash: "hph"}
	ph, err := s.CreatePhoneOnce(ctx, sc, NewPhone{Number: "+16175551212"}, phk)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RecordResponse(ctx, phk, Response{Status: 201, Location: "/phone"}); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, s)
	clock.Add(time.Second)
	_, err = s.CreatePhoneOnce(ctx, sc, NewPhone{Number: "+16175551212"}, phk)
	if !errors.As(err, &replay) || replay.ResourceID != ph.ID || replay.Response.Location != "/phone" {
		t.Fatalf("phone retry: %v, want the replay of %s", err, ph.ID)
	}
	if after := snapshot(t, s); after != before {
		t.Errorf("a replayed create wrote:\nbefore %s\nafter  %s", before, after)
	}

	// Expired, the key is free: the same request creates again.
	clock.Add(KeyTTL)
	c2, err := s.CreateContactOnce(ctx, Contact{AccountListID: al, Name: "first"}, key)
	if err != nil || c2.ID == c1.ID {
		t.Fatalf("create under an expired key: %v (id %s, first %s)", err, c2.ID, c1.ID)
	}
	wantCount(t, s, 1, `SELECT COUNT(*) FROM idempotency_keys WHERE user_id = ? AND idem_key = ?`, user, "k1")
}

// TestIdempotencyKeyPurge: recording a response deletes up to purgeBatch
// expired keys, the oldest first, and no live one.
func TestIdempotencyKeyPurge(t *testing.T) { forEachBackend(t, testIdempotencyKeyPurge) }

func testIdempotencyKeyPurge(t *testing.T) {
	s, clock := newStore(t)
	ctx := t.Context()
	al := newAccountList(t, s)
	user := uuid.NewString()
	create := func(name string) *Key {
		t.Helper()
		k := &Key{UserID: user, Key: name, Hash: "h"}
		if _, err := s.CreateContactOnce(ctx, Contact{AccountListID: al, Name: name}, k); err != nil {
			t.Fatal(err)
		}
		return k
	}
	const old = purgeBatch + purgeBatch/2
	for i := range old {
		create(fmt.Sprintf("old-%03d", i))
		clock.Add(time.Millisecond)
	}
	clock.Add(KeyTTL)
	keys := func() int { return count(t, s, `SELECT COUNT(*) FROM idempotency_keys`) }

	k := create("new-1")
	if err := s.RecordResponse(ctx, k, Response{Status: 201}); err != nil {
		t.Fatal(err)
	}
	if n := keys(); n != old-purgeBatch+1 {
		t.Errorf("%d keys after one purge, want %d", n, old-purgeBatch+1)
	}
	// The oldest went first.
	wantCount(t, s, 0, `SELECT COUNT(*) FROM idempotency_keys WHERE idem_key LIKE 'old-%' AND idem_key < ?`, fmt.Sprintf("old-%03d", purgeBatch))
	k = create("new-2")
	if err := s.RecordResponse(ctx, k, Response{Status: 201}); err != nil {
		t.Fatal(err)
	}
	if n := keys(); n != 2 {
		t.Errorf("%d keys after the second purge, want the 2 live ones", n)
	}
}
