package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
)

// result is one operation's measurement on one server, with the shape it
// was measured in (Engine, Replicas, Users, Clients, Op, Seconds).
type result struct {
	Server       string        `json:"server"`             // phoneapi, baseline or engine-ref
	Engine       string        `json:"engine"`             // sqlite or postgres
	Replicas     int           `json:"replicas,omitempty"` // server processes; 0 for engine-ref
	Users        int           `json:"users"`
	Clients      int           `json:"clients"`
	Op           string        `json:"op"`
	Requests     int           `json:"requests"`
	Errors       int           `json:"errors"`
	Unsent       int           `json:"unsent"` // open loop: scheduled but not sent; delete: pool exhausted
	Seconds      float64       `json:"seconds"`
	RPS          float64       `json:"requests_per_second"`
	P50          float64       `json:"p50_ms"`
	P90          float64       `json:"p90_ms"`
	P99          float64       `json:"p99_ms"`
	Max          float64       `json:"max_ms"`
	CPUSeconds   float64       `json:"cpu_seconds,omitempty"` // server processes (all replicas), during the phase
	RSSBytes     int64         `json:"rss_bytes,omitempty"`   // server processes (all replicas), at the end of the phase
	PerReplica   []replicaStat `json:"per_replica,omitempty"` // with more than one replica
	ErrorSamples []string      `json:"error_samples,omitempty"`
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
	Rate        float64  `json:"rate,omitempty"`
	Mode        string   `json:"mode"` // closed-loop or open-loop
	Seed        string   `json:"seed"`
	Database    string   `json:"database,omitempty"` // PostgreSQL: the database's name
	Synchronous string   `json:"sqlite_synchronous,omitempty"`
	SyncCommit  string   `json:"postgres_synchronous_commit,omitempty"`
	Results     []result `json:"results"`
	Ratios      []ratio  `json:"ratios,omitempty"`           // phoneapi/baseline, with --compare-baseline
	EngineRatio *ratio   `json:"engine_ref_ratio,omitempty"` // phoneapi patch / engine-ref, with --engine-ref
}

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
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "server\tengine\treplicas\tusers\tclients\top\ts\treq/s\tp50 ms\tp90 ms\tp99 ms\tmax ms\terrors\tunsent\tcpu s\trss MiB\t")
	for _, x := range r.Results {
		replicas, cpu, rss := "-", "-", "-"
		if x.Replicas > 0 {
			replicas = fmt.Sprint(x.Replicas)
		}
		if x.RSSBytes > 0 {
			cpu, rss = fmt.Sprintf("%.2f", x.CPUSeconds), mib(x.RSSBytes)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%.1f\t%.0f\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t%d\t%s\t%s\t\n",
			x.Server, x.Engine, replicas, x.Users, x.Clients, x.Op, x.Seconds, x.RPS, x.P50, x.P90, x.P99, x.Max, x.Errors, x.Unsent, cpu, rss)
	}
	tw.Flush()
	for _, x := range r.Results {
		for i, s := range x.PerReplica {
			fmt.Fprintf(w, "  %s %s replica %d: %d requests", x.Server, x.Op, i+1, s.Requests)
			if s.RSSBytes > 0 {
				fmt.Fprintf(w, ", %.2f cpu s, %s MiB", s.CPUSeconds, mib(s.RSSBytes))
			}
			fmt.Fprintln(w)
		}
	}
	for _, x := range r.Results {
		for _, m := range x.ErrorSamples {
			fmt.Fprintf(w, "  %s %s error: %s\n", x.Server, x.Op, m)
		}
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
