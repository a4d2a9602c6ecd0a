package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// The operations of the workload, in the order they run and are reported.
var opNames = []string{"get", "list", "create", "update", "delete"}

// updateSet is how many phones each client updates in turn; their ETags
// are fetched before the update phase, outside the measurement.
const updateSet = 8

// phoneRef locates a phone (or, with id "", a person) by its path ids.
type phoneRef struct{ contact, person, id string }

func (p phoneRef) personPath() string {
	return "/api/v2/contacts/" + p.contact + "/people/" + p.person + "/phones"
}
func (p phoneRef) path() string { return p.personPath() + "/" + p.id }

// fixture is the seeded data the workload addresses.
type fixture struct {
	phones []phoneRef
	people []phoneRef
}

// loadFixture reads every phone's and person's ids from the seeded SQLite
// file at path.
func loadFixture(path string) (*fixture, error) {
	d, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&"+baselineReadDSN)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	rows, err := d.Query(`SELECT c.id, p.id, ph.id FROM phones ph JOIN people p ON p.id = ph.person_id JOIN contacts c ON c.id = p.contact_id ORDER BY ph.id`)
	if err != nil {
		return nil, fmt.Errorf("read seeded phones: %w", err)
	}
	defer rows.Close()
	f := &fixture{}
	seen := map[string]bool{}
	for rows.Next() {
		var r phoneRef
		if err := rows.Scan(&r.contact, &r.person, &r.id); err != nil {
			return nil, err
		}
		f.phones = append(f.phones, r)
		if !seen[r.person] {
			seen[r.person] = true
			f.people = append(f.people, phoneRef{contact: r.contact, person: r.person})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(f.phones) == 0 {
		return nil, errors.New("the seeded database has no phones")
	}
	return f, nil
}

// target is a server under test.
type target struct {
	name    string // "phoneapi" or "baseline"
	base    string
	token   string
	pid     int    // for RSS and CPU; 0 when not measurable (a server given by -url)
	pprof   string // base URL of the server's profiler; "" when off
	hc      *http.Client
	clients []*clientState
}

// clientState is what one client keeps across the phases on one target.
type clientState struct {
	rng     *rand.Rand
	own     []phoneRef        // seeded phones only this client updates or deletes
	etags   map[string]string // phone id → current ETag
	created []phoneRef        // phones this client created, deleted first
	next    int               // round-robin position in the update set
}

func newTarget(name, base, token string, pid, clients int, f *fixture) *target {
	t := &target{name: name, base: base, token: token, pid: pid,
		hc: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			MaxIdleConns: clients * 2, MaxIdleConnsPerHost: clients * 2, IdleConnTimeout: 90 * time.Second,
		}}}
	for i := range clients {
		c := &clientState{rng: rand.New(rand.NewPCG(uint64(i), 7)), etags: map[string]string{}}
		for j := i; j < len(f.phones); j += clients {
			c.own = append(c.own, f.phones[j])
		}
		t.clients = append(t.clients, c)
	}
	return t
}

// errExhausted stops a client that has nothing left to delete.
var errExhausted = errors.New("no phone left to delete")

// do sends one request and checks its status; it returns the response
// body when want is met.
func (t *target) do(method, path string, body []byte, hdr map[string]string, want int) (*http.Response, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, t.base+path, rd)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+t.token)
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
		return nil, nil, fmt.Errorf("%s %s: status %d, want %d: %.200s", method, path, resp.StatusCode, want, b)
	}
	return resp, b, nil
}

func phoneDoc(attrs map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"data": map[string]any{"type": "phone_numbers", "attributes": attrs}})
	return b
}

var locations = []string{"mobile", "home", "work"}

// request runs one request of op as client c.
func (t *target) request(op string, c *clientState, f *fixture) error {
	switch op {
	case "get":
		p := f.phones[c.rng.IntN(len(f.phones))]
		_, _, err := t.do(http.MethodGet, p.path(), nil, nil, http.StatusOK)
		return err
	case "list":
		p := f.people[c.rng.IntN(len(f.people))]
		_, _, err := t.do(http.MethodGet, p.personPath(), nil, nil, http.StatusOK)
		return err
	case "create":
		p := f.people[c.rng.IntN(len(f.people))]
		body := phoneDoc(map[string]any{"number": fmt.Sprintf("+1617555%04d", c.rng.IntN(10000)), "location": "mobile"})
		_, b, err := t.do(http.MethodPost, p.personPath(), body, nil, http.StatusCreated)
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
		body := phoneDoc(map[string]any{"location": locations[c.next%len(locations)]})
		resp, _, err := t.do(http.MethodPut, p.path(), body, map[string]string{"If-Match": c.etags[p.id]}, http.StatusOK)
		if err != nil {
			return err
		}
		c.etags[p.id] = resp.Header.Get("ETag")
		return nil
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
		_, _, err := t.do(http.MethodDelete, p.path(), nil, nil, http.StatusNoContent)
		return err
	}
	return fmt.Errorf("unknown operation %q", op)
}

// setup prepares op outside the measurement: the update phase needs the
// current ETag of each client's update set.
func (t *target) setup(op string) error {
	if op != "update" {
		return nil
	}
	for _, c := range t.clients {
		for _, p := range c.own[:min(updateSet, len(c.own))] {
			resp, _, err := t.do(http.MethodGet, p.path(), nil, nil, http.StatusOK)
			if err != nil {
				return fmt.Errorf("%s: fetch etag: %w", t.name, err)
			}
			c.etags[p.id] = resp.Header.Get("ETag")
		}
	}
	return nil
}

// phaseConfig is the shape of one operation's measurement.
type phaseConfig struct {
	duration time.Duration
	rate     float64 // requests a second in all, open loop; 0 for closed loop
}

// sample is what one client measured.
type sample struct {
	lat    []time.Duration
	errors int
	unsent int
	errMsg []string
}

// phase runs op on t with every client for cfg.duration and returns the
// result. Closed loop: each client sends its next request when the last
// one is answered, and latency is each request's own. Open loop: requests
// are scheduled at a constant rate and latency runs from the scheduled
// time, so a slow server is charged for the queue it causes (no
// coordinated omission); scheduled requests not sent by the end of a grace
// period (one duration) are counted as unsent.
func (t *target) phase(op string, f *fixture, cfg phaseConfig) result {
	var before cpuRSS
	if t.pid > 0 {
		before, _ = sampleProc(t.pid)
	}
	samples := make([]sample, len(t.clients))
	start := time.Now()
	deadline := start.Add(cfg.duration)
	var sched chan time.Time
	var unscheduled int
	if cfg.rate > 0 {
		sched = make(chan time.Time, 1<<16)
		go func() {
			defer close(sched)
			interval := time.Duration(float64(time.Second) / cfg.rate)
			for at := start; at.Before(deadline); at = at.Add(interval) {
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
	for i, c := range t.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := &samples[i]
			one := func(from time.Time) bool {
				err := t.request(op, c, f)
				switch {
				case errors.Is(err, errExhausted):
					s.unsent++
					return false
				case err != nil:
					s.errors++
					if len(s.errMsg) < 3 {
						s.errMsg = append(s.errMsg, err.Error())
					}
				default:
					s.lat = append(s.lat, time.Since(from))
				}
				return true
			}
			if sched == nil {
				for time.Now().Before(deadline) {
					if !one(time.Now()) {
						return
					}
				}
				return
			}
			cutoff := deadline.Add(cfg.duration)
			for at := range sched {
				if time.Now().After(cutoff) || !one(at) {
					s.unsent++
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	r := summarize(t.name, op, samples, elapsed)
	r.Unsent += unscheduled
	if t.pid > 0 {
		if after, err := sampleProc(t.pid); err == nil {
			r.CPUSeconds = after.cpu - before.cpu
			r.RSSBytes = after.rss
		}
	}
	return r
}

// summarize merges the clients' samples into a result.
func summarize(server, op string, samples []sample, elapsed time.Duration) result {
	r := result{Server: server, Op: op, Seconds: elapsed.Seconds()}
	var lat []time.Duration
	for _, s := range samples {
		lat = append(lat, s.lat...)
		r.Errors += s.errors
		r.Unsent += s.unsent
		for _, m := range s.errMsg {
			if len(r.ErrorSamples) < 3 && !slices.Contains(r.ErrorSamples, m) {
				r.ErrorSamples = append(r.ErrorSamples, strings.TrimSpace(m))
			}
		}
	}
	slices.Sort(lat)
	r.Requests = len(lat) + r.Errors
	r.RPS = float64(r.Requests) / elapsed.Seconds()
	q := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return ms(lat[min(len(lat)-1, int(p*float64(len(lat))))])
	}
	r.P50, r.P90, r.P99 = q(0.50), q(0.90), q(0.99)
	if len(lat) > 0 {
		r.Max = ms(lat[len(lat)-1])
	}
	return r
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
