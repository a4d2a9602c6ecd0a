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
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/phoneapi/phoneapi/db/pgtest"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx" for the admin connection
	"github.com/oapi-codegen/nullable"

	"github.com/phoneapi/phoneapi/generated/client"
)

// rpRequests is how many concurrent requests each check sends.
const rpRequests = 40

func TestReplicas(t *testing.T) {
	if serverBin == "" {
		t.Skip("no phoneapi binary built (PHONEAPI_E2E_URL or -short): the replica tests start servers of their own")
	}
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			var dsn string
			if engine == "sqlite" {
				dsn = filepath.Join(t.TempDir(), "replicas.db")
			} else {
				dsn = rpPostgresDB(t)
			}
			rpRun(t, engine, dsn)
		})
	}
}

// rpRun is the test of one engine, with dsn the --db of both processes.
func rpRun(t *testing.T, engine, dsn string) {
	ctx := context.Background()
	begin := time.Now()

	secretBuf := make([]byte, 32)
	if _, err := rand.Read(secretBuf); err != nil {
		t.Fatal(err)
	}
	secret := hex.EncodeToString(secretBuf)
	servers := rpStartPair(t, dsn, secret)
	startDur := time.Since(begin)
	if servers[0].url == servers[1].url {
		t.Fatalf("both processes listen on %s", servers[0].url)
	}
	t.Logf("%s: A on %s, B on %s (both started at once and migrated in %v)", engine, servers[0].url, servers[1].url, startDur.Round(time.Millisecond))

	token := rpToken(t, secret)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = rpRequests
	defer tr.CloseIdleConnections()
	hc := &http.Client{Timeout: time.Minute, Transport: tr}
	clients := [2]*client.ClientWithResponses{
		rpClient(t, servers[0].url, token, hc),
		rpClient(t, servers[1].url, token, hc),
	}
	a, b := clients[0], clients[1]

	// Contact, person and phone through A.
	setupStart := time.Now()
	cb := client.ContactCreateDocument{}
	cb.Data.Type = "contacts"
	cb.Data.Attributes.Name = "Replicas " + engine
	rc, err := a.CreateContactWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, nil, cb)
	wantStatus(t, "create contact on A", rc, err, http.StatusCreated)
	cid := uuid.MustParse(rc.ApplicationvndApiJSON201.Data.Id)
	pid := rpPerson(t, a, cid, "Precondition")
	ph := rpPhone(t, a, cid, pid, "(617) 555-1212")
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
	puts := make([]putResult, rpRequests)
	putDur := rpConcurrently(func(i int) func() {
		body := client.PhoneUpdateDocument{}
		body.Data.Type = "phone_numbers"
		body.Data.Attributes.Location = nullable.NewNullableWithValue(fmt.Sprintf("put-%02d", i))
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
		engine, rpRequests, oks, conflicts, putDur.Round(time.Millisecond))
	if oks != 1 || conflicts != rpRequests-1 {
		t.Fatalf("got %d × 200 and %d × 409, want exactly 1 and %d", oks, conflicts, rpRequests-1)
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
	pid2 := rpPerson(t, b, cid, "Primary")
	type phoneResult struct {
		status int
		err    error
		body   []byte
		id     string
		stamp  string
	}
	created := make([]phoneResult, rpRequests)
	createDur := rpConcurrently(func(i int) func() {
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
	if primaries := rpPrimaries(t, a, cid, pid2); len(primaries) != 1 {
		t.Errorf("after %d concurrent creates: primary phones %v, want exactly one", rpRequests, primaries)
	}

	// 40 concurrent "make primary" requests, one per phone.
	made := make([]phoneResult, rpRequests)
	primaryDur := rpConcurrently(func(i int) func() {
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
		engine, rpRequests, createDur.Round(time.Millisecond), rpRequests, madeOK, primaryDur.Round(time.Millisecond))
	for n, c := range clients {
		primaries := rpPrimaries(t, c, cid, pid2)
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
	var wg sync.WaitGroup
	for _, s := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.stopped = true
			if err := s.stop(); err != nil {
				t.Errorf("process %s: %v", s.name, err)
			}
		}()
	}
	wg.Wait()
	stopDur := time.Since(stopStart)
	t.Logf("%s timings: start+migrate %v, setup %v, %d PUTs %v, %d creates %v, %d make-primary %v, SIGTERM→exit %v, total %v",
		engine, startDur.Round(time.Millisecond), setupDur.Round(time.Millisecond),
		rpRequests, putDur.Round(time.Millisecond), rpRequests, createDur.Round(time.Millisecond),
		rpRequests, primaryDur.Round(time.Millisecond), stopDur.Round(time.Millisecond), time.Since(begin).Round(time.Millisecond))
}

// rpConcurrently prepares n requests with prepare(i), which returns the
// function that sends request i, then releases them all at once and waits
// for them. It returns the time from release to the last answer.
func rpConcurrently(prepare func(i int) func()) time.Duration {
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for i := range rpRequests {
		send := prepare(i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			send()
		}()
	}
	start := time.Now()
	close(gate)
	wg.Wait()
	return time.Since(start)
}

// rpPerson creates a person of contact cid through c and returns its id.
func rpPerson(t *testing.T, c *client.ClientWithResponses, cid uuid.UUID, name string) uuid.UUID {
	t.Helper()
	body := client.PersonCreateDocument{}
	body.Data.Type = "people"
	body.Data.Attributes.FirstName = name
	r, err := c.CreatePersonWithApplicationVndAPIPlusJSONBodyWithResponse(context.Background(), cid, nil, body)
	wantStatus(t, "create person "+name, r, err, http.StatusCreated)
	return uuid.MustParse(r.ApplicationvndApiJSON201.Data.Id)
}

// rpPhone creates a phone through c and returns it.
func rpPhone(t *testing.T, c *client.ClientWithResponses, cid, pid uuid.UUID, number string) client.PhoneResource {
	t.Helper()
	body := client.PhoneCreateDocument{}
	body.Data.Type = "phone_numbers"
	body.Data.Attributes.Number = rawString(number)
	r, err := c.CreatePhoneWithApplicationVndAPIPlusJSONBodyWithResponse(context.Background(), cid, pid, nil, body)
	wantStatus(t, "create phone "+number, r, err, http.StatusCreated)
	return r.ApplicationvndApiJSON201.Data
}

// rpPrimaries lists the person's phones through c (one page of 500; the
// test requires it holds them all) and returns the ids of the primary ones.
func rpPrimaries(t *testing.T, c *client.ClientWithResponses, cid, pid uuid.UUID) []string {
	t.Helper()
	r, err := c.ListPhonesWithResponse(context.Background(), cid, pid, &client.ListPhonesParams{PerPage: ptr(500)})
	wantStatus(t, "list phones", r, err, http.StatusOK)
	doc := r.ApplicationvndApiJSON200
	if len(doc.Data) != rpRequests || doc.Meta.Pagination.TotalCount != rpRequests {
		t.Fatalf("list phones: %d phones of %d, want %d", len(doc.Data), doc.Meta.Pagination.TotalCount, rpRequests)
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

// rpClient is a generated client for the server at baseURL sending token.
func rpClient(t *testing.T, baseURL, token string, hc *http.Client) *client.ClientWithResponses {
	t.Helper()
	c, err := client.NewClientWithResponses(baseURL,
		client.WithHTTPClient(checkingDoer{t: t, hc: hc}),
		client.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
			req.Header.Set("Authorization", "Bearer "+token)
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// rpToken mints a token for a new user with secret (no database needed).
func rpToken(t *testing.T, secret string) string {
	t.Helper()
	cmd := exec.Command(serverBin, "token", "--jwt-secret", secret, "--user", uuid.NewString(), "--ttl", "1h")
	cmd.Env = cleanEnv()
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("phoneapi token: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// rpServer is one replica: a phoneapi serve process and its base URL.
type rpServer struct {
	*server
	name    string // A or B
	url     string
	stopped bool // stop was called (by the test; else the cleanup calls it)
}

// rpStartPair starts two `phoneapi serve` processes at once on free
// loopback ports with the same --db and --jwt-secret (and the extra serve
// flags, if any), and waits until both listen. A cleanup stops any the test
// did not, and prints their logs when the test failed.
func rpStartPair(t *testing.T, dsn, secret string, extra ...string) [2]*rpServer {
	t.Helper()
	var servers [2]*rpServer
	var addrs [2]<-chan string
	for i := range servers {
		args := append([]string{"serve", "--addr", "127.0.0.1:0", "--db", dsn, "--jwt-secret", secret}, extra...)
		proc, addr, err := spawn(serverBin, args...)
		if err != nil {
			t.Fatal(err)
		}
		s := &rpServer{server: proc, name: string(rune('A' + i))}
		servers[i] = s
		addrs[i] = addr
		t.Cleanup(func() {
			if !s.stopped {
				if err := s.stop(); err != nil {
					t.Errorf("process %s: %v", s.name, err)
				}
			}
			if t.Failed() {
				t.Logf("process %s log:\n%s", s.name, s.log())
			}
		})
	}
	deadline := time.After(60 * time.Second)
	for i, s := range servers {
		select {
		case s.url = <-addrs[i]:
		case err := <-s.done:
			s.stopped = true
			t.Fatalf("process %s exited before listening (%v):\n%s", s.name, err, s.log())
		case <-deadline:
			t.Fatalf("process %s: no \"listening\" log line within 60s:\n%s", s.name, s.log())
		}
	}
	return servers
}

// rpPostgresDB returns a throwaway PostgreSQL database (see pgtest).
func rpPostgresDB(t *testing.T) string {
	return pgtest.Database(t, "replica test", "phoneapi_e2e_replicas")
}
