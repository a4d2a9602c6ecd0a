package e2e

// TestDurabilityKill checks that a write phoneapi answered 2xx survives the
// server being killed. Each run starts `phoneapi serve` on a new SQLite
// file (default settings: WAL, synchronous=FULL) and sends it a stream of
// writes from `writers` concurrent clients: each creates contacts, people
// of its contacts and phones of its people, and updates them (PATCH with
// the updated_in_db_at precondition it was last answered). Every write
// answered 2xx is recorded with the attributes of the response body. At a
// random moment, 200–1500 ms into the load, the server gets SIGKILL, with
// requests in flight. Then:
//
//   - the file as the kill left it is opened read-only with database/sql and
//     go-sqlite3 and must pass PRAGMA integrity_check;
//   - the server is restarted on the same file, and every acknowledged write
//     is read back through the API: the resource must exist (nothing is
//     deleted in this test), and its updated_in_db_at must be at least the
//     acknowledged one and, if equal, every attribute must be the
//     acknowledged value (a later stamp means a later write, e.g. one in
//     flight at the kill, which may or may not have committed);
//   - the restarted server is stopped with SIGTERM (exit 0) and the file
//     must pass PRAGMA integrity_check again.
//
// Five runs, one seed each, derived from a base seed that is logged and
// can be fixed with PHONEAPI_E2E_DURABILITY_SEED to repeat the same kill
// moments and operation mix (the interleaving remains up to the scheduler).
//
// SIGKILL stops the process, not the machine: what the process had
// written is in the operating system's cache and survives. So this test
// catches writes answered before they are committed (or whose commit
// failed), journal settings that cannot recover a transaction cut short,
// state kept only in memory, and answers that differ from what was
// stored; it cannot tell synchronous=FULL from NORMAL, which differ only
// after an operating system crash or power loss.

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	_ "github.com/mattn/go-sqlite3" // registers "sqlite3" for the integrity check
)

const (
	killRuns      = 5
	writers       = 8
	killMin       = 200 * time.Millisecond // earliest kill, after the load starts
	killMax       = 1500 * time.Millisecond
	seedEnv       = "PHONEAPI_E2E_DURABILITY_SEED"
	verifyWorkers = 8
)

func TestDurabilityKill(t *testing.T) {
	needServerBin(t)
	base := time.Now().UnixNano()
	if v := os.Getenv(seedEnv); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: want an integer", seedEnv, v)
		}
		base = n
	}
	t.Logf("base seed %d (repeat with %s=%d)", base, seedEnv, base)
	secret := "durability-" + uuid.NewString()
	token := newToken(t, secret, uuid.NewString())
	for i := range killRuns {
		seed := base + int64(i)
		t.Run(fmt.Sprintf("run%d", i+1), func(t *testing.T) { runKill(t, seed, secret, token) })
	}
}

// resource is one that a client created: its API path and the
// updated_in_db_at it was last answered.
type resource struct {
	kind  string // contacts, people, phone_numbers
	path  string // /api/v2/contacts/{id}[/people/{id}[/phones/{id}]]
	stamp string
	// person is a phone's person: a phone write advances the person's
	// updated_in_db_at, which the writer learns from the write's
	// response (include=person).
	person *resource
}

// ack is a write answered 2xx: the resource, the operation and the
// attributes of the response.
type ack struct {
	path  string
	op    string // "create contacts", "update people", ...
	stamp time.Time
	attrs map[string]any
}

// runKill is one run: load, SIGKILL, checks, restart, verification.
func runKill(t *testing.T, seed int64, secret, token string) {
	begin := time.Now()
	rng := rand.New(rand.NewSource(seed))
	killAfter := killMin + time.Duration(rng.Int63n(int64(killMax-killMin)+1))
	killAfter = killAfter.Round(time.Millisecond)
	t.Logf("seed %d: SIGKILL %v into the load", seed, killAfter)
	dbPath := filepath.Join(t.TempDir(), "durability.db")

	srv := serveFile(t, dbPath, secret, "killed server")
	startDur := time.Since(begin)

	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = writers
	defer tr.CloseIdleConnections()
	hc := &http.Client{Timeout: 30 * time.Second, Transport: tr}

	var (
		killed   atomic.Bool
		cutOff   atomic.Int64 // requests the kill left unanswered
		mu       sync.Mutex
		acks     []ack
		failures []string
		wg       sync.WaitGroup
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		failures = append(failures, fmt.Sprintf(format, args...))
	}
	loadStart := time.Now()
	for c := range writers {
		crng := rand.New(rand.NewSource(seed*writers + int64(c) + 1))
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := &writer{hc: hc, base: srv.URL, token: token, rng: crng, id: c}
			for !killed.Load() {
				a, what, err := cl.step()
				if err != nil {
					if killed.Load() {
						cutOff.Add(1) // in flight at the kill, or sent after it: outcome unknown
					} else {
						fail("client %d: %s: %v", c, what, err)
					}
					return
				}
				mu.Lock()
				acks = append(acks, a)
				mu.Unlock()
			}
		}()
	}
	time.Sleep(time.Until(loadStart.Add(killAfter)))
	killed.Store(true)
	killedAt := time.Since(loadStart)
	if err := srv.Kill(); err != nil {
		t.Fatalf("%s: %v", srv.name, err)
	}
	srv.stopped = true
	wg.Wait()
	tr.CloseIdleConnections()
	for _, f := range failures {
		t.Errorf("during the load: %s", f)
	}
	if t.Failed() {
		t.FailNow()
	}
	counts := map[string]int{}
	for _, a := range acks {
		counts[a.op]++
	}
	t.Logf("killed %v into the load: %d writes acknowledged (%s), %d left unanswered",
		killedAt.Round(time.Millisecond), len(acks), opSummary(counts), cutOff.Load())
	if len(acks) == 0 {
		t.Fatal("no write was acknowledged before the kill")
	}

	// The file as the kill left it (the read-only connection replays the WAL).
	integrityCheck(t, dbPath, "after SIGKILL")

	restartStart := time.Now()
	srv2 := serveFile(t, dbPath, secret, "restarted server")
	restartDur := time.Since(restartStart)

	verifyStart := time.Now()
	verified := verifyAcks(t, hc, srv2.URL, token, acks)
	verifyDur := time.Since(verifyStart)

	if err := srv2.stop(); err != nil {
		t.Error(err)
	}
	integrityCheck(t, dbPath, "after the restart and SIGTERM")
	t.Logf("seed %d: kill at %v; %d acknowledged writes checked on %d resources; start %v, restart %v, verify %v, total %v",
		seed, killedAt.Round(time.Millisecond), verified, countResources(acks), startDur.Round(time.Millisecond),
		restartDur.Round(time.Millisecond), verifyDur.Round(time.Millisecond), time.Since(begin).Round(time.Millisecond))
}

// writer is one writer of the load; it owns the resources it created.
type writer struct {
	hc                       *http.Client
	base, token              string
	rng                      *rand.Rand
	id, n                    int
	contacts, people, phones []*resource
}

// step sends one write: a create or a PATCH of one of the client's
// resources with its last acknowledged updated_in_db_at. It returns the
// acknowledgement, or an error for anything but the expected 2xx.
func (c *writer) step() (ack, string, error) {
	c.n++
	label := fmt.Sprintf("du%d-%d", c.id, c.n)
	r := c.rng.Float64()
	switch {
	case len(c.contacts) == 0 || r < 0.12:
		return c.create(&c.contacts, "contacts", "/api/v2/contacts", map[string]any{"name": "Contact " + label}, nil)
	case len(c.people) == 0 || r < 0.27:
		ct := c.contacts[c.rng.Intn(len(c.contacts))]
		attrs := map[string]any{"first_name": "First " + label, "last_name": c.lastName(label)}
		return c.create(&c.people, "people", ct.path+"/people", attrs, nil)
	case len(c.phones) == 0 || r < 0.42:
		p := c.people[c.rng.Intn(len(c.people))]
		attrs := map[string]any{"number": c.number(), "location": "home " + label}
		return c.create(&c.phones, "phone_numbers", p.path+"/phones", attrs, p)
	case r < 0.60:
		res := c.contacts[c.rng.Intn(len(c.contacts))]
		return c.update(res, map[string]any{"name": "Renamed " + label})
	case r < 0.80:
		res := c.people[c.rng.Intn(len(c.people))]
		return c.update(res, map[string]any{"first_name": "Changed " + label, "last_name": c.lastName(label)})
	default:
		res := c.phones[c.rng.Intn(len(c.phones))]
		attrs := map[string]any{"location": "work " + label}
		if c.rng.Intn(2) == 0 {
			attrs["number"] = c.number()
		}
		if c.rng.Intn(4) == 0 {
			attrs["location"] = nil
		}
		return c.update(res, attrs)
	}
}

// lastName is a last name or, one time in four, null.
func (c *writer) lastName(label string) any {
	if c.rng.Intn(4) == 0 {
		return nil
	}
	return "Last " + label
}

// number is a random US number in the 617 area.
func (c *writer) number() string {
	return fmt.Sprintf("+1 617 555 %04d", c.rng.Intn(10000))
}

// create POSTs a new resource of kind to path and records it in *list;
// person is a new phone's person, else nil.
func (c *writer) create(list *[]*resource, kind, path string, attrs map[string]any, person *resource) (ack, string, error) {
	what := "create " + kind
	body := map[string]any{"data": map[string]any{"type": kind, "attributes": attrs}}
	id, got, stamp, err := c.send(http.MethodPost, path, body, http.StatusCreated, person)
	if err != nil {
		return ack{}, what, err
	}
	res := &resource{kind: kind, path: path + "/" + id, stamp: got["updated_in_db_at"].(string), person: person}
	*list = append(*list, res)
	return ack{path: res.path, op: what, stamp: stamp, attrs: got}, what, nil
}

// update PATCHes res with attrs and its last acknowledged updated_in_db_at.
func (c *writer) update(res *resource, attrs map[string]any) (ack, string, error) {
	what := "update " + res.kind
	attrs["updated_in_db_at"] = res.stamp
	body := map[string]any{"data": map[string]any{"type": res.kind, "attributes": attrs}}
	_, got, stamp, err := c.send(http.MethodPatch, res.path, body, http.StatusOK, res.person)
	if err != nil {
		return ack{}, what + " " + res.path, err
	}
	res.stamp = got["updated_in_db_at"].(string)
	return ack{path: res.path, op: what, stamp: stamp, attrs: got}, what, nil
}

// send sends a JSON:API write and requires status want. It returns the
// id, the attributes and the parsed updated_in_db_at of the response.
// When person is not nil (a phone write), the write asks to include the
// phone's person and person.stamp becomes the included person's.
func (c *writer) send(method, path string, body any, want int, person *resource) (string, map[string]any, time.Time, error) {
	buf, err := json.Marshal(body)
	if err != nil {
		return "", nil, time.Time{}, err
	}
	target := c.base + path
	if person != nil {
		target += "?include=person"
	}
	req, err := http.NewRequest(method, target, bytes.NewReader(buf))
	if err != nil {
		return "", nil, time.Time{}, err
	}
	req.Header.Set("Content-Type", mediaType)
	req.Header.Set("Accept", mediaType)
	req.Header.Set("Authorization", "Bearer "+c.token)
	status, raw, err := roundTrip(c.hc, req)
	if err != nil {
		return "", nil, time.Time{}, err
	}
	if status != want {
		return "", nil, time.Time{}, fmt.Errorf("status %d, want %d; body %s", status, want, raw)
	}
	id, attrs, stamp, err := parseResource(raw)
	if err != nil {
		return "", nil, time.Time{}, fmt.Errorf("%d response: %v; body %s", status, err, raw)
	}
	if person != nil {
		var doc struct {
			Included []struct {
				Type       string         `json:"type"`
				Attributes map[string]any `json:"attributes"`
			} `json:"included"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil || len(doc.Included) != 1 || doc.Included[0].Type != "people" {
			return "", nil, time.Time{}, fmt.Errorf("%d response without its included person (%v); body %s", status, err, raw)
		}
		person.stamp, _ = doc.Included[0].Attributes["updated_in_db_at"].(string)
	}
	return id, attrs, stamp, nil
}

// roundTrip sends req and reads the whole response body: a response cut
// short is an error, not an answer.
func roundTrip(hc *http.Client, req *http.Request) (int, []byte, error) {
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, fmt.Errorf("read response: %w", err)
	}
	return resp.StatusCode, raw, nil
}

// parseResource returns data.id, data.attributes and the parsed
// data.attributes.updated_in_db_at of a JSON:API resource document.
func parseResource(raw []byte) (string, map[string]any, time.Time, error) {
	var doc struct {
		Data struct {
			ID         string         `json:"id"`
			Attributes map[string]any `json:"attributes"`
		} `json:"data"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return "", nil, time.Time{}, err
	}
	s, _ := doc.Data.Attributes["updated_in_db_at"].(string)
	stamp, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || doc.Data.ID == "" {
		return "", nil, time.Time{}, fmt.Errorf("no id or no updated_in_db_at (%v)", err)
	}
	return doc.Data.ID, doc.Data.Attributes, stamp, nil
}

// verifyAcks reads every acknowledged resource from the server at base and
// checks each acknowledgement against it. It returns the number of
// acknowledgements checked.
func verifyAcks(t *testing.T, hc *http.Client, base, token string, acks []ack) int {
	t.Helper()
	byPath := map[string][]ack{}
	var paths []string
	for _, a := range acks {
		if _, ok := byPath[a.path]; !ok {
			paths = append(paths, a.path)
		}
		byPath[a.path] = append(byPath[a.path], a)
	}
	var (
		mu       sync.Mutex
		problems []string
		checked  int
		next     atomic.Int64
		wg       sync.WaitGroup
	)
	report := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		problems = append(problems, fmt.Sprintf(format, args...))
	}
	for range verifyWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(paths) {
					return
				}
				path := paths[i]
				req, err := http.NewRequest(http.MethodGet, base+path, nil)
				if err != nil {
					report("%s: %v", path, err)
					continue
				}
				req.Header.Set("Accept", mediaType)
				req.Header.Set("Authorization", "Bearer "+token)
				status, raw, err := roundTrip(hc, req)
				if err != nil {
					report("GET %s: %v", path, err)
					continue
				}
				if status != http.StatusOK {
					report("GET %s after the restart: status %d (acknowledged writes: %s); body %s",
						path, status, ackOps(byPath[path]), raw)
					continue
				}
				_, attrs, stamp, err := parseResource(raw)
				if err != nil {
					report("GET %s: %v; body %s", path, err, raw)
					continue
				}
				n := 0
				for _, a := range byPath[path] {
					n++
					switch {
					case stamp.Before(a.stamp):
						report("%s: lost acknowledged %s: stored updated_in_db_at %s is before the acknowledged %s",
							path, a.op, stamp.Format(time.RFC3339Nano), a.stamp.Format(time.RFC3339Nano))
					case stamp.Equal(a.stamp) && !reflect.DeepEqual(attrs, a.attrs):
						report("%s: acknowledged %s at %s answered %v, stored %v",
							path, a.op, a.stamp.Format(time.RFC3339Nano), a.attrs, attrs)
					}
				}
				mu.Lock()
				checked += n
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	const maxShown = 20
	for i, p := range problems {
		if i == maxShown {
			t.Errorf("... and %d more", len(problems)-maxShown)
			break
		}
		t.Error(p)
	}
	if len(problems) > 0 {
		t.Errorf("%d problems among %d acknowledged writes on %d resources", len(problems), len(acks), len(paths))
	}
	return checked
}

// integrityCheck opens the SQLite file read-only with database/sql and
// requires PRAGMA integrity_check to answer ok.
func integrityCheck(t *testing.T, path, when string) {
	t.Helper()
	u := url.URL{Scheme: "file", Opaque: path, RawQuery: "mode=ro"}
	conn, err := sql.Open("sqlite3", u.String())
	if err != nil {
		t.Fatalf("%s: open %s read-only: %v", when, path, err)
	}
	defer conn.Close()
	rows, err := conn.QueryContext(context.Background(), "PRAGMA integrity_check")
	if err != nil {
		t.Fatalf("%s: PRAGMA integrity_check: %v", when, err)
	}
	defer rows.Close()
	var msgs []string
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			t.Fatalf("%s: PRAGMA integrity_check: %v", when, err)
		}
		msgs = append(msgs, m)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: PRAGMA integrity_check: %v", when, err)
	}
	if len(msgs) != 1 || msgs[0] != "ok" {
		t.Errorf("%s: PRAGMA integrity_check = %q, want ok", when, msgs)
	}
}

// serveFile starts `phoneapi serve` named name on the SQLite file path
// with --jwt-secret secret and no rate limit: the load is one user writing
// as fast as it can.
func serveFile(t *testing.T, path, secret, name string) *server {
	t.Helper()
	return serve(t, name, "--db", path, "--jwt-secret", secret, "--rate-limit", "0")
}

// opSummary formats operation counts in a fixed order.
func opSummary(counts map[string]int) string {
	var b bytes.Buffer
	for _, op := range []string{"create contacts", "create people", "create phone_numbers", "update contacts", "update people", "update phone_numbers"} {
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d", op, counts[op])
	}
	return b.String()
}

// ackOps lists the operations of acks.
func ackOps(acks []ack) string {
	var b bytes.Buffer
	for i, a := range acks {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s at %s", a.op, a.stamp.Format(time.RFC3339Nano))
	}
	return b.String()
}

// countResources counts the distinct resources of acks.
func countResources(acks []ack) int {
	seen := map[string]bool{}
	for _, a := range acks {
		seen[a.path] = true
	}
	return len(seen)
}
