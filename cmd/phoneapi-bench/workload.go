package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The operations of the workload, in the order they run and are reported
// (the reads first, so that both servers read the same rows). patch and
// the people-include operations are not in defaultOps, the operations run
// unless -ops says otherwise (so that the default run and the README's
// first table keep their five).
var (
	opNames    = []string{"get", "list", opPeopleInclude, opPeopleIncludeFields, "create", "update", "patch", "delete"}
	defaultOps = []string{"get", "list", "create", "update", "delete"}
)

// The people-include operations: a page of peoplePerPage people of the
// user's account list with their phones in included (GET
// /api/v2/contacts/people?include=phone_numbers), with every field, or
// with the sparse fieldsets of includeFields.
const (
	opPeopleInclude       = "people-include"
	opPeopleIncludeFields = "people-include-fields"
	peoplePerPage         = 500
	// maxIncluded is phoneapi's limit on the resources of a compound
	// document (handlers.maxIncluded): a page of people whose phones
	// exceed it is a 400.
	maxIncluded = 10_000
)

// includeFields are the sparse fieldsets of people-include-fields.
var includeFields = map[string]string{
	"fields[people]":        "first_name,last_name,phone_numbers",
	"fields[phone_numbers]": "number,primary,person",
}

// listPageSize is the default page of phoneapi's lists, which list reads.
const listPageSize = 25

// isPeopleInclude reports whether op is one of the people-include
// operations.
func isPeopleInclude(op string) bool { return op == opPeopleInclude || op == opPeopleIncludeFields }

// updateSet is how many phones each client updates in turn; their ETags
// are fetched before the update phase, outside the measurement.
const updateSet = 8

// phoneRef locates a phone (or, with id "", a person) by its path ids.
type phoneRef struct{ contact, person, id string }

func (p phoneRef) personPath() string {
	return "/api/v2/contacts/" + p.contact + "/people/" + p.person + "/phones"
}
func (p phoneRef) path() string { return p.personPath() + "/" + p.id }

// userData is one user of the workload: its token, the ids of the phones
// and people (those with phones) of its account list, and how many people
// it has in all.
type userData struct {
	id, token   string
	phones      []phoneRef
	people      []phoneRef
	peopleCount int
}

// peoplePage returns a page of the user's people for the people-include
// operations, drawn from the full pages of peoplePerPage (page 1 when
// there is none), so that every request reads as many people.
func (u *userData) peoplePage(rng *rand.Rand) int {
	return 1 + rng.IntN(max(u.peopleCount/peoplePerPage, 1))
}

// peopleIncludePath is the path and query of a people-include request
// (op with fields or not) for a page.
func peopleIncludePath(op string, page int) string {
	q := url.Values{"include": {"phone_numbers"}, "page": {strconv.Itoa(page)}, "per_page": {strconv.Itoa(peoplePerPage)}}
	if op == opPeopleIncludeFields {
		for k, v := range includeFields {
			q.Set(k, v)
		}
	}
	return "/api/v2/contacts/people?" + q.Encode()
}

// readPath returns the path (and query) of the next request of a read
// operation (get, list or the people-include ones) as client c.
func readPath(op string, c *clientState) string {
	u := c.user
	switch op {
	case "get":
		return u.phones[c.rng.IntN(len(u.phones))].path()
	case "list":
		return u.people[c.rng.IntN(len(u.people))].personPath()
	}
	return peopleIncludePath(op, u.peoplePage(c.rng))
}

// fixture is the seeded data the workload addresses, by user.
type fixture struct{ users []*userData }

// isPostgres reports whether dsn is a PostgreSQL URL rather than a SQLite
// file path.
func isPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// openDB opens the database at dsn, a PostgreSQL URL or a SQLite file
// (read-only), with database/sql.
func openDB(dsn string) (*sql.DB, error) {
	if isPostgres(dsn) {
		return sql.Open("pgx", dsn)
	}
	return sql.Open("sqlite3", "file:"+dsn+"?mode=ro&"+baselineReadDSN)
}

// loadFixture reads the ids of the phones and people of each of users
// (user ids, any case) from the database at dsn, a PostgreSQL URL or a
// SQLite file; the fixture's users are in the order given, without
// tokens. A user's data is that of its account list (tables users,
// contacts, people and phones). It fails when a user has no phone.
func loadFixture(ctx context.Context, dsn string, users []string) (*fixture, error) {
	d, err := openDB(dsn)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	f := &fixture{}
	by := map[string]*userData{}
	for _, u := range users {
		ud := &userData{id: strings.ToLower(u)}
		f.users = append(f.users, ud)
		by[ud.id] = ud
	}
	rows, err := d.QueryContext(ctx, `SELECT u.id, c.id, p.id, ph.id FROM phones ph
		JOIN people p ON p.id = ph.person_id
		JOIN contacts c ON c.id = p.contact_id
		JOIN users u ON u.account_list_id = c.account_list_id
		ORDER BY u.id, ph.id`)
	if err != nil {
		return nil, fmt.Errorf("read seeded phones: %w", err)
	}
	defer rows.Close()
	seen := map[string]bool{} // user id + person id
	for rows.Next() {
		var user string
		var r phoneRef
		if err := rows.Scan(&user, &r.contact, &r.person, &r.id); err != nil {
			return nil, err
		}
		ud := by[strings.ToLower(user)]
		if ud == nil {
			continue
		}
		ud.phones = append(ud.phones, r)
		if k := ud.id + "/" + r.person; !seen[k] {
			seen[k] = true
			ud.people = append(ud.people, phoneRef{contact: r.contact, person: r.person})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// All of each user's people, with phones or not: the tables of the
	// first migration (people.account_list_id came later).
	counts, err := d.QueryContext(ctx, `SELECT u.id, count(*) FROM people p
		JOIN contacts c ON c.id = p.contact_id
		JOIN users u ON u.account_list_id = c.account_list_id
		GROUP BY u.id`)
	if err != nil {
		return nil, fmt.Errorf("count seeded people: %w", err)
	}
	defer counts.Close()
	for counts.Next() {
		var user string
		var n int
		if err := counts.Scan(&user, &n); err != nil {
			return nil, err
		}
		if ud := by[strings.ToLower(user)]; ud != nil {
			ud.peopleCount = n
		}
	}
	if err := counts.Err(); err != nil {
		return nil, err
	}
	for _, ud := range f.users {
		if len(ud.phones) == 0 {
			return nil, fmt.Errorf("user %s has no phones in the database", ud.id)
		}
	}
	return f, nil
}

// clientState is what one client keeps across the phases on one target.
type clientState struct {
	user    *userData // whose token it sends and whose data it addresses
	base    string    // base URL of the replica it sends to
	replica int       // that replica's index
	rng     *rand.Rand
	own     []phoneRef        // phones of its user only this client updates, patches or deletes
	etags   map[string]string // phone id → current ETag
	created []phoneRef        // phones this client created, deleted first
	next    int               // round-robin position in own
}

// newClients returns n clients: client i is user i mod len(f.users) and
// sends to bases[i mod len(bases)]. The clients of one user split its
// phones between them: each owns every m-th, m being how many clients the
// user has, so that no two clients update or delete the same phone.
func newClients(n int, f *fixture, bases []string) []*clientState {
	nu := len(f.users)
	var cs []*clientState
	for i := range n {
		u := f.users[i%nu]
		c := &clientState{user: u, base: bases[i%len(bases)], replica: i % len(bases),
			rng: rand.New(rand.NewPCG(uint64(i), 7)), etags: map[string]string{}}
		k, m := i/nu, (n-1-i%nu)/nu+1 // this client's rank among its user's m clients
		for j := k; j < len(u.phones); j += m {
			c.own = append(c.own, u.phones[j])
		}
		cs = append(cs, c)
	}
	return cs
}

// checkOwn fails when a client owns no phone, which update, patch and the
// engine reference need.
func checkOwn(cs []*clientState) error {
	for i, c := range cs {
		if len(c.own) == 0 {
			return fmt.Errorf("client %d owns none of user %s's %d phones: seed more phones per user or run fewer clients",
				i, c.user.id, len(c.user.phones))
		}
	}
	return nil
}

// target is a server under test: one process, or several replicas
// serving the same database.
type target struct {
	name    string // "phoneapi" or "baseline"
	pids    []int  // one per replica, for RSS and CPU; nil when not measurable (a server given by -url)
	pprof   string // base URL of the first replica's profiler; "" when off
	hc      *http.Client
	clients []*clientState
	nbases  int // replicas
}

// newTarget returns a target serving at bases (one per replica; pids, if
// given, in the same order) with the given number of clients on f.
func newTarget(name string, bases []string, pids []int, clients int, f *fixture) *target {
	return &target{name: name, pids: pids, nbases: len(bases), clients: newClients(clients, f, bases),
		hc: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			MaxIdleConns: clients * 2, MaxIdleConnsPerHost: clients * 2, IdleConnTimeout: 90 * time.Second,
		}}}
}

// errExhausted stops a client that has nothing left to delete.
var errExhausted = errors.New("no phone left to delete")

// do sends one request as client c to its replica and checks its status;
// it returns the response and its body when want is met.
func (t *target) do(ctx context.Context, c *clientState, method, path string, body []byte, hdr map[string]string, want int) (*http.Response, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.user.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/vnd.api+json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := t.hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != want {
		return nil, nil, &statusError{method: method, path: path, status: resp.StatusCode, want: want, body: b}
	}
	return resp, b, nil
}

// statusError is an answer with another status than the one wanted.
type statusError struct {
	method, path string
	status, want int
	body         []byte
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s %s: status %d, want %d: %.500s", e.method, e.path, e.status, e.want, e.body)
}

// otherError is the error kind of a request that got no HTTP answer
// (connection error, client timeout), or of an engine-ref statement.
const otherError = "other"

// errorKind classifies a failed request for the error counts: its HTTP
// status ("503"), or otherError.
func errorKind(err error) string {
	if se, ok := errors.AsType[*statusError](err); ok {
		return strconv.Itoa(se.status)
	}
	return otherError
}

// phoneDoc is a JSON:API phone document with attrs, and with id unless it
// is "".
func phoneDoc(id string, attrs map[string]any) []byte {
	data := map[string]any{"type": "phone_numbers", "attributes": attrs}
	if id != "" {
		data["id"] = id
	}
	b, _ := json.Marshal(map[string]any{"data": data})
	return b
}

var locations = []string{"mobile", "home", "work"}

// patchLocation is the location the n-th patch of a client writes: it
// differs from the last one, so every patch changes the row.
func patchLocation(n int) string { return locations[n%len(locations)] + " " + strconv.Itoa(n) }

// request runs one request of op as client c.
func (t *target) request(ctx context.Context, op string, c *clientState) error {
	u := c.user
	switch op {
	case "get", "list", opPeopleInclude, opPeopleIncludeFields:
		_, _, err := t.do(ctx, c, http.MethodGet, readPath(op, c), nil, nil, http.StatusOK)
		return err
	case "create":
		p := u.people[c.rng.IntN(len(u.people))]
		body := phoneDoc("", map[string]any{"number": fmt.Sprintf("+1617555%04d", c.rng.IntN(10000)), "location": "mobile"})
		_, b, err := t.do(ctx, c, http.MethodPost, p.personPath(), body, nil, http.StatusCreated)
		if err != nil {
			return err
		}
		var doc struct {
			Data struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		if err := json.Unmarshal(b, &doc); err != nil || doc.Data.ID == "" {
			return fmt.Errorf("create: no id in %.200s", b)
		}
		p.id = doc.Data.ID
		c.created = append(c.created, p)
		return nil
	case "update":
		p := c.own[c.next%min(updateSet, len(c.own))]
		c.next++
		body := phoneDoc("", map[string]any{"location": locations[c.next%len(locations)]})
		resp, _, err := t.do(ctx, c, http.MethodPut, p.path(), body, map[string]string{"If-Match": c.etags[p.id]}, http.StatusOK)
		if err != nil {
			return err
		}
		c.etags[p.id] = resp.Header.Get("ETag")
		return nil
	case "patch":
		p := c.own[c.next%len(c.own)]
		c.next++
		body := phoneDoc(p.id, map[string]any{"location": patchLocation(c.next), "overwrite": true})
		_, _, err := t.do(ctx, c, http.MethodPatch, p.path(), body, nil, http.StatusOK)
		return err
	case "delete":
		var p phoneRef
		switch {
		case len(c.created) > 0:
			p, c.created = c.created[len(c.created)-1], c.created[:len(c.created)-1]
		case len(c.own) > 0:
			p, c.own = c.own[len(c.own)-1], c.own[:len(c.own)-1]
		default:
			return errExhausted
		}
		_, _, err := t.do(ctx, c, http.MethodDelete, p.path(), nil, nil, http.StatusNoContent)
		return err
	}
	return fmt.Errorf("unknown operation %q", op)
}

// setup prepares op outside the measurement: update and patch need every
// client to own a phone, and update the current ETag of each client's
// update set.
func (t *target) setup(ctx context.Context, op string) error {
	if op != "update" && op != "patch" {
		return nil
	}
	if err := checkOwn(t.clients); err != nil {
		return fmt.Errorf("%s %s: %w", t.name, op, err)
	}
	if op != "update" {
		return nil
	}
	for _, c := range t.clients {
		for _, p := range c.own[:min(updateSet, len(c.own))] {
			resp, _, err := t.do(ctx, c, http.MethodGet, p.path(), nil, nil, http.StatusOK)
			if err != nil {
				return fmt.Errorf("%s: fetch etag: %w", t.name, err)
			}
			c.etags[p.id] = resp.Header.Get("ETag")
		}
	}
	return nil
}

// phase measures op on t; see runPhase.
func (t *target) phase(ctx context.Context, op string, cfg phaseConfig, log io.Writer) result {
	return runPhase(ctx, t.name, op, t.clients, t.nbases, t.pids, cfg, log,
		func(ctx context.Context, c *clientState) error { return t.request(ctx, op, c) })
}

// phaseConfig is the shape of one operation's measurement.
type phaseConfig struct {
	duration time.Duration
	rate     float64  // requests a second in all, open loop; 0 for closed loop
	groups   []string // client i's group (see result.Groups), for every client; nil for no groups
}

// sample is what one client measured.
type sample struct {
	replica int
	lat     []time.Duration
	errors  int
	kinds   map[string]int // errors by errorKind
	unsent  int
	errMsg  []string
}

// runPhase runs one request function, send, with every client for
// cfg.duration (or until ctx is done) and returns the result, named server
// and op. Closed loop: each client sends its next request when the last
// one is answered, and latency is each request's own. Open loop: requests
// are scheduled at a constant rate and latency runs from the scheduled
// time, so a slow server is charged for the queue it causes (no
// coordinated omission); scheduled requests not sent by the end of a grace
// period (one duration) are counted as unsent. The clients go to
// replicas replicas (clientState.replica); pids, if any, are the
// replicas' processes, whose CPU seconds and RSS are summed into the
// result. With cfg.groups, the result also has each group's figures. The
// first error is written to log when it happens.
func runPhase(ctx context.Context, server, op string, clients []*clientState, replicas int, pids []int, cfg phaseConfig, log io.Writer,
	send func(context.Context, *clientState) error) result {
	before := make([]cpuRSS, len(pids))
	for i, pid := range pids {
		before[i], _ = sampleProc(pid)
	}
	var firstErr sync.Once
	samples := make([]sample, len(clients))
	start := time.Now()
	deadline := start.Add(cfg.duration)
	var sched chan time.Time
	var unscheduled int
	if cfg.rate > 0 {
		sched = make(chan time.Time, 1<<16)
		go func() {
			defer close(sched)
			interval := time.Duration(float64(time.Second) / cfg.rate)
			for at := start; at.Before(deadline) && ctx.Err() == nil; at = at.Add(interval) {
				time.Sleep(time.Until(at))
				select {
				case sched <- at:
				default:
					unscheduled++ // the queue is full: the server is far behind
				}
			}
		}()
	}
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := &samples[i]
			s.replica = c.replica
			one := func(from time.Time) bool {
				err := send(ctx, c)
				switch {
				case errors.Is(err, errExhausted):
					s.unsent++
					return false
				case err != nil && ctx.Err() != nil:
					return false // interrupted: not the server's error
				case err != nil:
					s.errors++
					if s.kinds == nil {
						s.kinds = map[string]int{}
					}
					s.kinds[errorKind(err)]++
					if len(s.errMsg) < 3 {
						s.errMsg = append(s.errMsg, err.Error())
					}
					firstErr.Do(func() { fmt.Fprintf(log, "%s %s: first error: %v\n", server, op, err) })
				default:
					s.lat = append(s.lat, time.Since(from))
				}
				return true
			}
			if sched == nil {
				for time.Now().Before(deadline) && ctx.Err() == nil {
					if !one(time.Now()) {
						return
					}
				}
				return
			}
			cutoff := deadline.Add(cfg.duration)
			for at := range sched {
				if time.Now().After(cutoff) || ctx.Err() != nil || !one(at) {
					s.unsent++
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	r := summarize(server, op, samples, cfg.groups, replicas, elapsed)
	r.Unsent += unscheduled
	for i, pid := range pids {
		after, err := sampleProc(pid)
		if err != nil {
			continue
		}
		cpu := after.cpu - before[i].cpu
		r.CPUSeconds += cpu
		r.RSSBytes += after.rss
		if i < len(r.PerReplica) {
			r.PerReplica[i].CPUSeconds, r.PerReplica[i].RSSBytes = cpu, after.rss
		}
	}
	return r
}

// summarize merges the clients' samples into a result; with more than one
// replica it counts each one's requests in PerReplica, and with groups
// (client i's group for each sample i) it adds each group's figures, in
// the order the groups first appear.
func summarize(server, op string, samples []sample, groups []string, replicas int, elapsed time.Duration) result {
	r := result{Server: server, Op: op, Seconds: elapsed.Seconds(), stats: tally(samples, elapsed)}
	if replicas > 1 {
		r.PerReplica = make([]replicaStat, replicas)
	}
	for _, s := range samples {
		r.Unsent += s.unsent
		if r.PerReplica != nil {
			r.PerReplica[s.replica].Requests += len(s.lat) + s.errors
		}
		for _, m := range s.errMsg {
			if len(r.ErrorSamples) < 3 && !slices.Contains(r.ErrorSamples, m) {
				r.ErrorSamples = append(r.ErrorSamples, strings.TrimSpace(m))
			}
		}
	}
	if groups == nil {
		return r
	}
	by := map[string][]sample{}
	var names []string
	for i, s := range samples {
		g := groups[i]
		if by[g] == nil {
			names = append(names, g)
		}
		by[g] = append(by[g], s)
	}
	for _, g := range names {
		r.Groups = append(r.Groups, groupResult{Group: g, Clients: len(by[g]), stats: tally(by[g], elapsed)})
	}
	return r
}

// tally computes the figures of samples measured over elapsed.
func tally(samples []sample, elapsed time.Duration) stats {
	var st stats
	var lat []time.Duration
	for _, s := range samples {
		lat = append(lat, s.lat...)
		st.Errors += s.errors
		for k, n := range s.kinds {
			if st.ErrorKinds == nil {
				st.ErrorKinds = map[string]int{}
			}
			st.ErrorKinds[k] += n
		}
	}
	slices.Sort(lat)
	st.Requests = len(lat) + st.Errors
	st.RPS = float64(st.Requests) / elapsed.Seconds()
	q := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return ms(lat[min(len(lat)-1, int(p*float64(len(lat))))])
	}
	st.P50, st.P90, st.P99 = q(0.50), q(0.90), q(0.99)
	if len(lat) > 0 {
		st.Max = ms(lat[len(lat)-1])
	}
	return st
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
