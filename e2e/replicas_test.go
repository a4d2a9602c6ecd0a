package e2e

// TestReplicas runs two `phoneapi serve` processes as replicas on one
// database, once per engine: SQLite (both processes open one file; WAL and
// the busy timeout serialise their writes) and PostgreSQL (a throwaway
// database created from PHONEAPI_TEST_POSTGRES_URL and dropped afterwards).
// Both start at once, so they also migrate the new database concurrently.
// They share a --jwt-secret, so one token works on both. Through both of
// them at once it checks the two guarantees that must hold across
// processes:
//
//   - 40 concurrent PUTs of one phone carrying the same updated_in_db_at
//     precondition: exactly one 200, 39 × 409 naming the winner's stamp;
//   - 40 concurrent "make primary" PATCHes (overwrite: true) on 40 phones of
//     one person: all 200, and afterwards exactly one primary phone, the one
//     whose request committed last.
//
// Both processes are then stopped with SIGTERM and must exit 0. The
// PostgreSQL variant skips, saying how to enable it, when
// PHONEAPI_TEST_POSTGRES_URL is unset, and fails instead when CI is set.

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx" for the admin connection

	"github.com/phoneapi/phoneapi/db/dbtest"
	"github.com/phoneapi/phoneapi/generated/client"
)

// concurrentRequests is how many concurrent requests each check sends.
const concurrentRequests = 40

func TestReplicas(t *testing.T) {
	forEachEngine(t, "replicas.db", runReplicas)
}

// runReplicas is the test of one engine, with dsn the --db of both processes.
func runReplicas(t *testing.T, engine, dsn string) {
	ctx := context.Background()
	begin := time.Now()

	secret := newSecret(t)
	servers := servePair(t, "--db", dsn, "--jwt-secret", secret)
	startDur := time.Since(begin)
	if servers[0].URL == servers[1].URL {
		t.Fatalf("both processes listen on %s", servers[0].URL)
	}
	t.Logf("%s: A on %s, B on %s (both started at once and migrated in %v)", engine, servers[0].URL, servers[1].URL, startDur.Round(time.Millisecond))

	token := newToken(t, secret, uuid.NewString())
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = concurrentRequests
	defer tr.CloseIdleConnections()
	hc := &http.Client{Timeout: time.Minute, Transport: tr}
	clients := [2]*client.ClientWithResponses{
		clientAt(t, servers[0].URL, token, hc),
		clientAt(t, servers[1].URL, token, hc),
	}
	a, b := clients[0], clients[1]

	// Contact, person and phone through A.
	setupStart := time.Now()
	cid := newContact(t, a, "Replicas "+engine)
	pid := newPerson(t, a, cid, "Precondition")
	ph := newPhone(t, a, cid, pid, "(617) 555-1212")
	phid := uuid.MustParse(ph.Id)
	setupDur := time.Since(setupStart)

	// (1) The precondition, read once (through B, which sees A's write).
	g, err := b.GetPhoneWithResponse(ctx, cid, pid, phid, nil)
	wantStatus(t, "get phone on B", g, err, http.StatusOK)
	stamp := deref(g.ApplicationvndApiJSON200.Data.Attributes.UpdatedInDbAt)
	if want := deref(ph.Attributes.UpdatedInDbAt); stamp == "" || stamp != want {
		t.Fatalf("B reads updated_in_db_at %q, A created the phone with %q", stamp, want)
	}
	type putResult struct {
		status  int
		err     error
		body    []byte
		stamp   string // 200: the new updated_in_db_at
		pointer string // 409: source.pointer
		stored  any    // 409: meta.updated_in_db_at
	}
	puts := make([]putResult, concurrentRequests)
	putDur := sendTogether(func(i int) func() {
		body := locationUpdate(fmt.Sprintf("put-%02d", i))
		body.Data.Attributes.UpdatedInDbAt = ptr(stamp)
		return func() {
			r, err := clients[i%2].PutPhoneWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, cid, pid, phid, nil, body)
			res := &puts[i]
			if res.err = err; err != nil {
				return
			}
			res.status, res.body = r.StatusCode(), r.Body
			if doc := r.ApplicationvndApiJSON200; doc != nil {
				res.stamp = deref(doc.Data.Attributes.UpdatedInDbAt)
			}
			if doc := r.ApplicationvndApiJSON409; doc != nil && len(doc.Errors) > 0 {
				e := doc.Errors[0]
				if e.Source != nil {
					res.pointer = deref(e.Source.Pointer)
				}
				if e.Meta != nil {
					res.stored = (*e.Meta)["updated_in_db_at"]
				}
			}
		}
	})
	winner := -1
	var conflicts int
	for i, r := range puts {
		switch {
		case r.err != nil:
			t.Errorf("PUT %d (process %c): %v", i, 'A'+i%2, r.err)
		case r.status == http.StatusOK:
			if winner >= 0 {
				t.Errorf("PUT %d (process %c) also got 200 (PUT %d won already): %s", i, 'A'+i%2, winner, r.body)
			} else {
				winner = i
			}
		case r.status == http.StatusConflict:
			conflicts++
		default:
			t.Errorf("PUT %d (process %c): status %d, want 200 or 409; body %s", i, 'A'+i%2, r.status, r.body)
		}
	}
	oks := 0
	for _, r := range puts {
		if r.err == nil && r.status == http.StatusOK {
			oks++
		}
	}
	t.Logf("%s: %d concurrent PUTs with one precondition across A and B: %d × 200, %d × 409 in %v",
		engine, concurrentRequests, oks, conflicts, putDur.Round(time.Millisecond))
	if oks != 1 || conflicts != concurrentRequests-1 {
		t.Fatalf("got %d × 200 and %d × 409, want exactly 1 and %d", oks, conflicts, concurrentRequests-1)
	}
	// Stamps are fixed-width RFC 3339 in UTC (...T15:04:05.000Z), so they
	// compare as strings in time order.
	won := puts[winner]
	if won.stamp <= stamp {
		t.Errorf("the winning PUT's updated_in_db_at %q is not after the precondition %q", won.stamp, stamp)
	}
	for i, r := range puts {
		if r.status != http.StatusConflict {
			continue
		}
		if r.pointer != "/data/attributes/updated_in_db_at" || r.stored != won.stamp {
			t.Errorf("PUT %d: 409 pointer %q, meta updated_in_db_at %v; want /data/attributes/updated_in_db_at and the winner's %q",
				i, r.pointer, r.stored, won.stamp)
		}
	}
	for _, c := range clients {
		g, err := c.GetPhoneWithResponse(ctx, cid, pid, phid, nil)
		wantStatus(t, "get phone after the PUTs", g, err, http.StatusOK)
		at := g.ApplicationvndApiJSON200.Data.Attributes
		if want := fmt.Sprintf("put-%02d", winner); at.Location.MustGet() != want || deref(at.UpdatedInDbAt) != won.stamp {
			t.Errorf("after the PUTs the phone has location %q, updated_in_db_at %q; want the winner's %q, %q",
				at.Location.MustGet(), deref(at.UpdatedInDbAt), want, won.stamp)
		}
	}

	// (2) 40 phones of one person, created concurrently across A and B.
	pid2 := newPerson(t, b, cid, "Primary")
	type phoneResult struct {
		status int
		err    error
		body   []byte
		id     string
		stamp  string
	}
	created := make([]phoneResult, concurrentRequests)
	createDur := sendTogether(func(i int) func() {
		body := client.PhoneCreateDocument{}
		body.Data.Type = "phone_numbers"
		body.Data.Attributes.Number = rawString(fmt.Sprintf("+1 617 555 %04d", 2000+i))
		return func() {
			r, err := clients[i%2].CreatePhoneWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, cid, pid2, nil, body)
			res := &created[i]
			if res.err = err; err != nil {
				return
			}
			res.status, res.body = r.StatusCode(), r.Body
			if doc := r.ApplicationvndApiJSON201; doc != nil {
				res.id = doc.Data.Id
			}
		}
	})
	for i, r := range created {
		if r.err != nil || r.status != http.StatusCreated || r.id == "" {
			t.Fatalf("create phone %d (process %c): %v, status %d, body %s", i, 'A'+i%2, r.err, r.status, r.body)
		}
	}
	if primaries := primaryPhones(t, a, cid, pid2); len(primaries) != 1 {
		t.Errorf("after %d concurrent creates: primary phones %v, want exactly one", concurrentRequests, primaries)
	}

	// 40 concurrent "make primary" requests, one per phone.
	made := make([]phoneResult, concurrentRequests)
	primaryDur := sendTogether(func(i int) func() {
		body := client.PhoneUpdateDocument{}
		body.Data.Type = "phone_numbers"
		body.Data.Attributes.Primary = ptr(true)
		body.Data.Attributes.Overwrite = ptr(true)
		id := uuid.MustParse(created[i].id)
		return func() {
			r, err := clients[i%2].PatchPhoneWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, cid, pid2, id, nil, body)
			res := &made[i]
			if res.err = err; err != nil {
				return
			}
			res.status, res.body, res.id = r.StatusCode(), r.Body, created[i].id
			if doc := r.ApplicationvndApiJSON200; doc != nil {
				res.stamp = deref(doc.Data.Attributes.UpdatedInDbAt)
				if !deref(doc.Data.Attributes.Primary) {
					res.status = -1 // 200 without primary: true
				}
			}
		}
	})
	madeOK := 0
	lastStamp := ""
	for i, r := range made {
		switch {
		case r.err != nil:
			t.Errorf("make phone %d primary (process %c): %v", i, 'A'+i%2, r.err)
		case r.status != http.StatusOK:
			t.Errorf("make phone %d primary (process %c): status %d, want 200 with primary true; body %s", i, 'A'+i%2, r.status, r.body)
		default:
			madeOK++
			lastStamp = max(lastStamp, r.stamp)
		}
	}
	t.Logf("%s: %d concurrent creates in %v; %d concurrent make-primary PATCHes across A and B: %d × 200 in %v",
		engine, concurrentRequests, createDur.Round(time.Millisecond), concurrentRequests, madeOK, primaryDur.Round(time.Millisecond))
	for n, c := range clients {
		primaries := primaryPhones(t, c, cid, pid2)
		if len(primaries) != 1 {
			t.Errorf("listing through %c after the make-primary requests: primary phones %v, want exactly one", 'A'+n, primaries)
			continue
		}
		// The last request to commit wins; updated_in_db_at grows in commit
		// order (equal stamps within one millisecond are allowed).
		for _, r := range made {
			if r.id == primaries[0] && r.stamp != lastStamp {
				t.Errorf("primary phone %s was made primary at %s, but a later request committed at %s", r.id, r.stamp, lastStamp)
			}
		}
	}

	// SIGTERM both; each must exit 0.
	stopStart := time.Now()
	for _, err := range dbtest.Together(len(servers), func(i int) error { return servers[i].stop() }) {
		if err != nil {
			t.Error(err)
		}
	}
	stopDur := time.Since(stopStart)
	t.Logf("%s timings: start+migrate %v, setup %v, %d PUTs %v, %d creates %v, %d make-primary %v, SIGTERM→exit %v, total %v",
		engine, startDur.Round(time.Millisecond), setupDur.Round(time.Millisecond),
		concurrentRequests, putDur.Round(time.Millisecond), concurrentRequests, createDur.Round(time.Millisecond),
		concurrentRequests, primaryDur.Round(time.Millisecond), stopDur.Round(time.Millisecond), time.Since(begin).Round(time.Millisecond))
}

// sendTogether prepares concurrentRequests requests with prepare(i), which
// returns the function that sends request i, then sends them all at the
// same moment (dbtest.Together) and waits for them. It returns the time
// from the release to the last answer.
func sendTogether(prepare func(i int) func()) time.Duration {
	sends := make([]func(), concurrentRequests)
	for i := range sends {
		sends[i] = prepare(i)
	}
	start := time.Now()
	dbtest.Together(len(sends), func(i int) struct{} {
		sends[i]()
		return struct{}{}
	})
	return time.Since(start)
}

// primaryPhones lists the person's phones through c (one page of 500; the
// test requires it holds them all) and returns the ids of the primary ones.
func primaryPhones(t *testing.T, c *client.ClientWithResponses, cid, pid uuid.UUID) []string {
	t.Helper()
	r, err := c.ListPhonesWithResponse(context.Background(), cid, pid, &client.ListPhonesParams{PerPage: ptr(500)})
	wantStatus(t, "list phones", r, err, http.StatusOK)
	doc := r.ApplicationvndApiJSON200
	if len(doc.Data) != concurrentRequests || doc.Meta.Pagination.TotalCount != concurrentRequests {
		t.Fatalf("list phones: %d phones of %d, want %d", len(doc.Data), doc.Meta.Pagination.TotalCount, concurrentRequests)
	}
	var ids []string
	for _, p := range doc.Data {
		if deref(p.Attributes.Primary) {
			ids = append(ids, p.Id)
		}
	}
	sort.Strings(ids)
	return ids
}
