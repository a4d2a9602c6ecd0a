package main

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// The operations of the workload, in report order. "check" is the final
// consistency check, not part of the timed load.
var opNames = []string{"read", "list", "create", "update", "update-stale", "delete", "check"}

// stats collects every request's outcome; safe for concurrent use.
type stats struct {
	mu         sync.Mutex
	latency    map[string][]time.Duration
	byStatus   map[int]int            // every response, by status
	byOp       map[string]map[int]int // op → status → count
	unexpected map[string]int         // "op: got X, want Y" → count
	examples   []string               // the first unexpected outcomes in full
	transport  int                    // requests without a response
}

func newStats() *stats {
	return &stats{
		latency:    map[string][]time.Duration{},
		byStatus:   map[int]int{},
		byOp:       map[string]map[int]int{},
		unexpected: map[string]int{},
	}
}

// record notes one response (status 0: none) and whether it was expected.
func (s *stats) record(op string, status int, d time.Duration, want []int, detail string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if status == 0 {
		s.transport++
	} else {
		s.byStatus[status]++
	}
	if s.byOp[op] == nil {
		s.byOp[op] = map[int]int{}
	}
	s.byOp[op][status]++
	s.latency[op] = append(s.latency[op], d)
	if !slices.Contains(want, status) {
		s.unexpected[fmt.Sprintf("%s: got %d, want %v", op, status, want)]++
		if len(s.examples) < 20 {
			s.examples = append(s.examples, fmt.Sprintf("%s: got %d, want %v: %s", op, status, want, detail))
		}
	}
}

// problem notes an outcome that was the expected status but wrong content.
func (s *stats) problem(op, what string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unexpected[op+": "+what]++
	if len(s.examples) < 20 {
		s.examples = append(s.examples, op+": "+what)
	}
}

// report is what a run found.
type report struct {
	cfg                            config
	stats                          *stats
	elapsed                        time.Duration
	rssWarm, rssEnd, rssAfterCheck int64
	goroutinesWarm, goroutinesEnd  int
	goroutinesNote                 string
	lost                           []string
	shutdownErr                    error
	serverLog, serveEnv            string
}

// print writes the report and returns whether the run passed.
func (r *report) print(w io.Writer) bool {
	s := r.stats
	s.mu.Lock()
	defer s.mu.Unlock()
	ok := true
	fail := func(format string, args ...any) {
		ok = false
		fmt.Fprintf(w, "FAIL: "+format+"\n", args...)
	}

	loadReqs := 0
	for op, m := range s.byOp {
		if op == "check" {
			continue
		}
		for _, c := range m {
			loadReqs += c
		}
	}
	all := s.transport
	for _, c := range s.byStatus {
		all += c
	}
	fmt.Fprintf(w, "phoneapi soak: %d clients, %d users, %s of load (%s warm-up), server %s, %s\n",
		r.cfg.clients, r.cfg.users, r.cfg.duration, r.cfg.warmup, r.cfg.bin, r.serveEnv)
	fmt.Fprintf(w, "requests: %d during the load (%.0f/s), %d in all with the final check\n",
		loadReqs, float64(loadReqs)/r.cfg.duration.Seconds(), all)

	statuses := make([]int, 0, len(s.byStatus))
	for st := range s.byStatus {
		statuses = append(statuses, st)
	}
	sort.Ints(statuses)
	var parts []string
	fivexx := 0
	for _, st := range statuses {
		parts = append(parts, fmt.Sprintf("%d×%d", st, s.byStatus[st]))
		if st >= 500 {
			fivexx += s.byStatus[st]
		}
	}
	fmt.Fprintf(w, "statuses: %s; transport errors: %d\n", strings.Join(parts, " "), s.transport)

	fmt.Fprintf(w, "%-13s %8s %10s %10s %10s  %s\n", "operation", "requests", "p50", "p99", "max", "statuses")
	for _, op := range opNames {
		lat := s.latency[op]
		if len(lat) == 0 {
			continue
		}
		slices.Sort(lat)
		var sts []string
		keys := make([]int, 0, len(s.byOp[op]))
		for st := range s.byOp[op] {
			keys = append(keys, st)
		}
		sort.Ints(keys)
		for _, st := range keys {
			sts = append(sts, fmt.Sprintf("%d×%d", st, s.byOp[op][st]))
		}
		fmt.Fprintf(w, "%-13s %8d %10s %10s %10s  %s\n", op, len(lat),
			round(quantile(lat, 0.50)), round(quantile(lat, 0.99)), round(lat[len(lat)-1]), strings.Join(sts, " "))
	}

	growth := 0.0
	if r.rssWarm > 0 {
		growth = float64(r.rssEnd) / float64(r.rssWarm)
	}
	fmt.Fprintf(w, "server RSS: %.1f MiB after warm-up, %.1f MiB at the end of the load (×%.2f, limit ×%.2f), %.1f MiB after the check\n",
		mib(r.rssWarm), mib(r.rssEnd), growth, r.cfg.maxRSSGrowth, mib(r.rssAfterCheck))
	switch {
	case r.goroutinesEnd >= 0 && r.goroutinesWarm >= 0:
		fmt.Fprintf(w, "server goroutines (go_goroutines): %d after warm-up (under load), %d at the end (idle, client connections closed)\n", r.goroutinesWarm, r.goroutinesEnd)
	case r.goroutinesEnd >= 0:
		fmt.Fprintf(w, "server goroutines (go_goroutines): %d at the end (idle, client connections closed)\n", r.goroutinesEnd)
	default:
		fmt.Fprintf(w, "server goroutines: not measured (%s)\n", r.goroutinesNote)
	}
	fmt.Fprintf(w, "consistency check: %d lost or wrong writes\n", len(r.lost))

	if fivexx > 0 {
		fail("%d responses were 5xx", fivexx)
	}
	if s.transport > 0 {
		fail("%d requests got no response", s.transport)
	}
	if len(s.unexpected) > 0 {
		n := 0
		for _, c := range s.unexpected {
			n += c
		}
		fail("%d unexpected outcomes", n)
		keys := make([]string, 0, len(s.unexpected))
		for k := range s.unexpected {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "  %6d  %s\n", s.unexpected[k], k)
		}
		for _, e := range s.examples {
			fmt.Fprintf(w, "  e.g. %s\n", e)
		}
	}
	if len(r.lost) > 0 {
		fail("%d acknowledged writes are missing or differ on the server", len(r.lost))
		for i, l := range r.lost {
			if i == 20 {
				fmt.Fprintf(w, "  … and %d more\n", len(r.lost)-20)
				break
			}
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
	if r.rssWarm <= 0 || r.rssEnd <= 0 {
		fail("the server's RSS could not be read")
	} else if growth > r.cfg.maxRSSGrowth {
		fail("RSS grew ×%.2f, more than ×%.2f", growth, r.cfg.maxRSSGrowth)
	}
	if r.shutdownErr != nil {
		fail("the server did not shut down cleanly: %v", r.shutdownErr)
	}
	return ok
}

// quantile returns the q-quantile of sorted durations (nearest rank).
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= 100*time.Millisecond:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
