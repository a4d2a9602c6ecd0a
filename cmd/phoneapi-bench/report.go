package main

import (
	"bufio"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// result is one operation's measurement on one server, with the shape it
// was measured in (Engine, Replicas, Users, Clients, Op, Seconds).
type result struct {
	Server   string `json:"server"`             // phoneapi, baseline or engine-ref
	Engine   string `json:"engine"`             // sqlite or postgres
	Replicas int    `json:"replicas,omitempty"` // server processes; 0 for engine-ref
	Users    int    `json:"users"`
	Clients  int    `json:"clients"`
	Op       string `json:"op"`
	// Phase is, with -hold-lock, phaseUnloaded or phaseLocked; "" without.
	Phase string `json:"phase,omitempty"`
	// Rounds is how many times op was measured on this server (-rounds,
	// read operations); the figures are those of the round with the
	// highest throughput.
	Rounds int `json:"rounds,omitempty"`
	stats
	Unsent       int           `json:"unsent"` // open loop: scheduled but not sent; delete: pool exhausted
	Seconds      float64       `json:"seconds"`
	CPUSeconds   float64       `json:"cpu_seconds,omitempty"` // server processes (all replicas), during the phase
	RSSBytes     int64         `json:"rss_bytes,omitempty"`   // server processes (all replicas), at the end of the phase
	PerReplica   []replicaStat `json:"per_replica,omitempty"` // with more than one replica
	ErrorSamples []string      `json:"error_samples,omitempty"`
	// Groups are the figures of each group of clients, with -hold-lock:
	// groupLocked (the clients of the user whose account list is locked
	// in the locked phase) and groupOthers.
	Groups []groupResult `json:"groups,omitempty"`
	// LockHeldSec is, in the locked phase, how long the account list's
	// row lock was held: from before the phase started to after it ended.
	LockHeldSec float64 `json:"lock_held_seconds,omitempty"`
}

// stats are the figures of a set of requests: a phase's, or one group's
// in it. Latencies are of the successful requests only.
type stats struct {
	Requests int `json:"requests"` // successful or failed
	Errors   int `json:"errors"`
	// ErrorKinds counts the errors by HTTP status ("503"), or otherError.
	ErrorKinds map[string]int `json:"error_statuses,omitempty"`
	RPS        float64        `json:"requests_per_second"`
	P50        float64        `json:"p50_ms"`
	P90        float64        `json:"p90_ms"`
	P99        float64        `json:"p99_ms"`
	Max        float64        `json:"max_ms"`
}

// kinds formats ErrorKinds as "503×12, other×1", or "0" without
// errors.
func (s stats) kinds() string {
	if s.Errors == 0 {
		return "0"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(s.ErrorKinds)) {
		parts = append(parts, fmt.Sprintf("%s×%d", k, s.ErrorKinds[k]))
	}
	return strings.Join(parts, ", ")
}

// groupResult is one group of clients' share of a result.
type groupResult struct {
	Group   string `json:"group"`
	Clients int    `json:"clients"`
	stats
}

// replicaStat is one replica's share of a result.
type replicaStat struct {
	Requests   int     `json:"requests"` // sent to it, errors included
	CPUSeconds float64 `json:"cpu_seconds,omitempty"`
	RSSBytes   int64   `json:"rss_bytes,omitempty"`
}

// ratio is one server's figure over another's for one operation.
type ratio struct {
	Op  string  `json:"op"`
	RPS float64 `json:"requests_per_second"`
	P99 float64 `json:"p99"`
}

// report is the whole run, as printed and as written by --json.
type report struct {
	Engine      string   `json:"engine"` // sqlite or postgres
	Replicas    int      `json:"replicas"`
	Users       int      `json:"users"`
	Clients     int      `json:"clients"`
	DurationSec float64  `json:"duration_per_op_seconds"`
	Warmup      float64  `json:"warmup_seconds,omitempty"` // read operations, per server
	Rounds      int      `json:"rounds,omitempty"`         // read operations: the best of Rounds is reported
	Rate        float64  `json:"rate,omitempty"`
	Mode        string   `json:"mode"` // closed-loop or open-loop
	Seed        string   `json:"seed"`
	Database    string   `json:"database,omitempty"` // PostgreSQL: the database's name
	Synchronous string   `json:"sqlite_synchronous,omitempty"`
	SyncCommit  string   `json:"postgres_synchronous_commit,omitempty"`
	Results     []result `json:"results"`
	Ratios      []ratio  `json:"ratios,omitempty"`           // phoneapi/baseline, with --compare-baseline
	EngineRatio *ratio   `json:"engine_ref_ratio,omitempty"` // phoneapi patch / engine-ref, with --engine-ref
	// RequestTimeout is the --request-timeout passed to phoneapi serve;
	// "" when none was (the server's default applies).
	RequestTimeout string          `json:"request_timeout,omitempty"`
	Lock           *lockComparison `json:"hold_lock,omitempty"` // with -hold-lock
}

// The phases of an operation and the groups of clients with -hold-lock.
const (
	phaseUnloaded = "unloaded" // no lock held
	phaseLocked   = "locked"   // user 0's account list row locked throughout
	groupLocked   = "locked"   // the clients of user 0
	groupOthers   = "others"   // the clients of the other users
)

// lockComparison is the -hold-lock summary, measured in its shape
// (Engine, Replicas, Users, Clients, DurationSec): for each operation and
// group of clients, the unloaded and the locked phase side by side.
type lockComparison struct {
	Engine         string    `json:"engine"`
	Replicas       int       `json:"replicas"`
	Users          int       `json:"users"`
	Clients        int       `json:"clients"`
	DurationSec    float64   `json:"duration_per_phase_seconds"`
	RequestTimeout string    `json:"request_timeout,omitempty"` // as report.RequestTimeout
	User           string    `json:"locked_user"`               // user 0, whose account list is locked
	Rows           []lockRow `json:"rows"`
}

// lockRow compares one group's figures for one operation.
type lockRow struct {
	Op       string `json:"op"`
	Group    string `json:"group"`
	Clients  int    `json:"clients"`
	Unloaded stats  `json:"unloaded"`
	Locked   stats  `json:"locked"`
	// P99Ratio is Locked.P99 / Unloaded.P99; 0 when a phase had no
	// successful request.
	P99Ratio float64 `json:"p99_ratio"`
	// Within2x is whether the requirement holds for this row: no error in
	// the locked phase and P99Ratio at most 2. Absent for the locked
	// group's writes, which the requirement does not cover (they are
	// expected to fail with 503 once the request deadline passes).
	Within2x *bool `json:"p99_within_2x,omitempty"`
}

// isRead reports whether op writes nothing.
func isRead(op string) bool { return op == "get" || op == "list" || isPeopleInclude(op) }

// add appends x, stamped with the run's shape: replicas server processes
// (0 for the engine reference).
func (r *report) add(x result, replicas int) {
	x.Engine, x.Replicas, x.Users, x.Clients = r.Engine, replicas, r.Users, r.Clients
	r.Results = append(r.Results, x)
}

// computeRatios fills Ratios when both servers were measured, and
// EngineRatio when phoneapi's patch and the engine reference were.
func (r *report) computeRatios() {
	by := map[string]result{}
	for _, x := range r.Results {
		by[x.Server+"/"+x.Op] = x
	}
	for _, op := range opNames {
		a, okA := by["phoneapi/"+op]
		b, okB := by["baseline/"+op]
		if !okA || !okB {
			continue
		}
		r.Ratios = append(r.Ratios, ratio{Op: op, RPS: div(a.RPS, b.RPS), P99: div(a.P99, b.P99)})
	}
	a, okA := by["phoneapi/patch"]
	e, okE := by["engine-ref/update"]
	if okA && okE {
		r.EngineRatio = &ratio{Op: "patch", RPS: div(a.RPS, e.RPS), P99: div(a.P99, e.P99)}
	}
	if r.Lock != nil {
		r.Lock.Rows = lockRows(r.Results)
	}
}

// lockRows pairs phoneapi's unloaded and locked phases of each operation,
// group by group, in opNames order and each phase's group order.
func lockRows(results []result) []lockRow {
	by := map[string]result{}
	for _, x := range results {
		if x.Server == "phoneapi" && x.Phase != "" {
			by[x.Op+"/"+x.Phase] = x
		}
	}
	var rows []lockRow
	for _, op := range opNames {
		u, okU := by[op+"/"+phaseUnloaded]
		l, okL := by[op+"/"+phaseLocked]
		if !okU || !okL {
			continue
		}
		for _, lg := range l.Groups {
			i := slices.IndexFunc(u.Groups, func(g groupResult) bool { return g.Group == lg.Group })
			if i < 0 {
				continue
			}
			row := lockRow{Op: op, Group: lg.Group, Clients: lg.Clients, Unloaded: u.Groups[i].stats, Locked: lg.stats}
			if row.Unloaded.Requests > row.Unloaded.Errors && row.Locked.Requests > row.Locked.Errors {
				row.P99Ratio = div(row.Locked.P99, row.Unloaded.P99)
			}
			if lg.Group != groupLocked || isRead(op) {
				ok := row.Locked.Errors == 0 && row.P99Ratio > 0 && row.P99Ratio <= 2
				row.Within2x = &ok
			}
			rows = append(rows, row)
		}
	}
	return rows
}

func div(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// print writes the tables.
func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "%s, %s, %d replica(s), %d user(s), %d clients, %.0fs per operation", r.Mode, r.Engine, r.Replicas, r.Users, r.Clients, r.DurationSec)
	if r.Rate > 0 {
		fmt.Fprintf(w, ", %.0f requests/s", r.Rate)
	}
	if r.Warmup > 0 {
		fmt.Fprintf(w, " after a %gs warm-up", r.Warmup)
	}
	if r.Rounds > 1 {
		fmt.Fprintf(w, "; read operations: each server's best of %d rounds", r.Rounds)
	}
	fmt.Fprintf(w, "; seed %s", r.Seed)
	if r.Synchronous != "" {
		fmt.Fprintf(w, "; sqlite synchronous=%s", r.Synchronous)
	}
	if r.SyncCommit != "" {
		fmt.Fprintf(w, "; postgres synchronous_commit=%s", r.SyncCommit)
	}
	if r.Database != "" {
		fmt.Fprintf(w, "; database %s", r.Database)
	}
	fmt.Fprint(w, "\n\n")
	phases := r.Lock != nil
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "server\tengine\treplicas\tusers\tclients\top\t")
	if phases {
		fmt.Fprint(tw, "phase\t")
	}
	fmt.Fprintln(tw, "s\treq/s\tp50 ms\tp90 ms\tp99 ms\tmax ms\terrors\tunsent\tcpu s\trss MiB\t")
	for _, x := range r.Results {
		replicas, cpu, rss := "-", "-", "-"
		if x.Replicas > 0 {
			replicas = fmt.Sprint(x.Replicas)
		}
		if x.RSSBytes > 0 {
			cpu, rss = fmt.Sprintf("%.2f", x.CPUSeconds), mib(x.RSSBytes)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t", x.Server, x.Engine, replicas, x.Users, x.Clients, x.Op)
		if phases {
			fmt.Fprintf(tw, "%s\t", cmp.Or(x.Phase, "-"))
		}
		fmt.Fprintf(tw, "%.1f\t%.0f\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t%d\t%s\t%s\t\n",
			x.Seconds, x.RPS, x.P50, x.P90, x.P99, x.Max, x.Errors, x.Unsent, cpu, rss)
	}
	tw.Flush()
	for _, x := range r.Results {
		for i, s := range x.PerReplica {
			fmt.Fprintf(w, "  %s %s", x.Server, x.Op)
			if x.Phase != "" {
				fmt.Fprintf(w, " (%s)", x.Phase)
			}
			fmt.Fprintf(w, " replica %d: %d requests", i+1, s.Requests)
			if s.RSSBytes > 0 {
				fmt.Fprintf(w, ", %.2f cpu s, %s MiB", s.CPUSeconds, mib(s.RSSBytes))
			}
			fmt.Fprintln(w)
		}
	}
	for _, x := range r.Results {
		for _, m := range x.ErrorSamples {
			fmt.Fprintf(w, "  %s %s", x.Server, x.Op)
			if x.Phase != "" {
				fmt.Fprintf(w, " (%s)", x.Phase)
			}
			fmt.Fprintf(w, " error: %s\n", m)
		}
	}
	if r.Lock != nil {
		r.Lock.print(w, r.Results)
	}
	if len(r.Ratios) > 0 {
		fmt.Fprintln(w, "\nphoneapi/baseline (throughput: higher is better; p99: lower is better)")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "op\treq/s ratio\tp99 ratio\t")
		for _, x := range r.Ratios {
			fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t\n", x.Op, x.RPS, x.P99)
		}
		tw.Flush()
	}
	if e := r.EngineRatio; e != nil {
		fmt.Fprintf(w, "\nphoneapi patch / engine-ref: req/s ratio %.2f, p99 ratio %.2f (throughput: higher is better; p99: lower is better)\n", e.RPS, e.P99)
	}
}

// print writes the -hold-lock tables: every phase's figures by group of
// clients (from results), then the comparison.
func (l *lockComparison) print(w io.Writer, results []result) {
	shape := fmt.Sprintf("%s, %d replicas, %d users, %d clients, %.0fs", l.Engine, l.Replicas, l.Users, l.Clients, l.DurationSec)
	timeout := cmp.Or(l.RequestTimeout, "the server's default")
	fmt.Fprintf(w, "\nby group, lock held on user 0's account list in the locked phase (%s per phase; request timeout %s; user 0 is %s):\n",
		shape, timeout, l.User)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  op\tphase\tgroup\tclients\ts\treq/s\tp50 ms\tp90 ms\tp99 ms\tmax ms\terrors")
	for _, x := range results {
		for _, g := range x.Groups {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%.1f\t%.0f\t%s\t%s\t%s\t%s\t%s\n", x.Op, x.Phase, g.Group, g.Clients, x.Seconds, g.RPS,
				g.msCell(g.P50), g.msCell(g.P90), g.msCell(g.P99), g.msCell(g.Max), g.kinds())
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "\nlock held on user 0's account list (%s):\n", shape)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  op\tgroup\tunloaded p99 ms\tlocked p99 ms\tratio\tunloaded errors\tlocked errors\twithin 2x")
	for _, x := range l.Rows {
		ratio, within := "-", "-"
		if x.P99Ratio > 0 {
			ratio = fmt.Sprintf("%.2f", x.P99Ratio)
		}
		if x.Within2x != nil {
			within = map[bool]string{true: "yes", false: "NO"}[*x.Within2x]
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", x.Op, x.Group,
			x.Unloaded.msCell(x.Unloaded.P99), x.Locked.msCell(x.Locked.P99), ratio, x.Unloaded.kinds(), x.Locked.kinds(), within)
	}
	tw.Flush()
	fmt.Fprintln(w, "  (ratio: locked/unloaded p99, of successful requests; within 2x: no error in the locked phase and ratio ≤ 2,"+
		" for every row but the locked group's writes, which are expected to fail with 503 once the request timeout passes)")
}

// msCell formats v, one of s's latencies, or "-" when no request of s
// succeeded.
func (s stats) msCell(v float64) string {
	if s.Requests == s.Errors {
		return "-"
	}
	return fmt.Sprintf("%.2f", v)
}

func mib(b int64) string { return fmt.Sprintf("%.1f", float64(b)/(1<<20)) }

// writeJSON writes the report to path.
func (r *report) writeJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// cpuRSS is a process's CPU time in seconds and resident set in bytes.
type cpuRSS struct {
	cpu float64
	rss int64
}

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat;
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// sampleProc reads pid's utime+stime (/proc/PID/stat) and VmRSS
// (/proc/PID/status).
func sampleProc(pid int) (cpuRSS, error) {
	var s cpuRSS
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	// Fields after the parenthesised command name, which may hold spaces:
	// state is field 3, utime 14 and stime 15.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return s, errors.New("malformed /proc/PID/stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return s, errors.New("short /proc/PID/stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return s, err
	}
	s.cpu = float64(ut+st) / clockTicks
	st2, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	defer st2.Close()
	sc := bufio.NewScanner(st2)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			s.rss = kb * 1024
			return s, err
		}
	}
	return s, errors.New("no VmRSS in /proc/PID/status")
}
