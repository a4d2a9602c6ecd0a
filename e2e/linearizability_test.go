package e2e

// TestLinearizability checks with porcupine that every phone behaves as a
// linearizable compare-and-set register when two `phoneapi serve`
// processes share one database, once per engine (as TestReplicas: a SQLite
// file, then a throwaway PostgreSQL database from
// PHONEAPI_TEST_POSTGRES_URL). loadClients clients send a random mix of
// reads (GET a phone) and compare-and-set writes (PUT a new location with
// the updated_in_db_at the client last saw as the precondition) to
// registerPhones shared phones for loadDuration, each request to a random
// one of the two processes, and record every operation's call and return
// time on this process's monotonic clock. The history, partitioned by
// phone, must be linearizable under registerModel.
//
// TestLinearizabilityWholeSeconds is the same with preconditions of whole
// seconds: half of the compare-and-set writes send the updated_in_db_at
// they last saw truncated to the second (the other half keep the
// milliseconds: whole seconds alone would stall once a phone has two
// versions in one second, as every such write is then refused). The model
// encodes the rule for them: such a write succeeds only when its second
// holds exactly one version of the phone, the stored one.
//
// An outcome the model cannot place (a transport error or timeout, or a
// status other than 200 and the precondition's 409) fails the test: leaving
// such a write out of the history would make the check unsound. When the
// check does not say Ok, the history (JSON) and porcupine's visualisation
// (HTML) are saved where they outlive the test (under -artifacts in the
// test's artifact directory, else in a new directory under os.TempDir())
// and the failure names them.
//
// TestLinearizabilityModel shows that the model rejects histories that are
// not linearizable, so that TestLinearizability can fail.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/google/uuid"
	"github.com/oapi-codegen/nullable"

	"github.com/phoneapi/phoneapi/db/dbtest"
	"github.com/phoneapi/phoneapi/generated/client"
)

const (
	// loadDuration is how long the clients send requests, per engine.
	loadDuration = 10 * time.Second
	// loadClients is how many clients send requests at once.
	loadClients = 8
	// registerPhones is how many phones (independent registers) they share.
	registerPhones = 3
	// checkTimeout bounds porcupine's search, per engine.
	checkTimeout = 60 * time.Second
	// requestTimeout is generous: a request that times out has an
	// unknown outcome, which fails the test.
	requestTimeout = 2 * time.Minute
	// setupClientID is the ClientId of the sequential operations before and
	// after the clients run (creating the phones, the final reads).
	setupClientID = loadClients
)

// The kinds of operation on a phone register.
const (
	opCreate = "create" // POST the phone: output its first value
	opRead   = "read"   // GET the phone: output its value
	opCAS    = "cas"    // PUT location with the updated_in_db_at precondition
)

// registerInput is an operation's input. Phone is the partition: the index of
// the phone it targets.
type registerInput struct {
	Phone    int    `json:"phone"`
	Kind     string `json:"kind"`               // opCreate, opRead or opCAS
	Expect   string `json:"expect,omitempty"`   // opCAS: the updated_in_db_at precondition, with milliseconds or in whole seconds
	Location string `json:"location,omitempty"` // opCAS: the location written
}

// registerOutput is an operation's output. For opCreate, opRead and a
// successful opCAS (OK) it is the phone as the response showed it; for a
// failed opCAS (409 on the precondition) Stamp is the stored
// updated_in_db_at the error names and Location is empty.
type registerOutput struct {
	OK       bool   `json:"ok,omitempty"`
	Stamp    string `json:"updated_in_db_at"`
	Location string `json:"location,omitempty"`
}

// registerState is one phone register's value; the zero value means the phone
// does not exist yet.
type registerState struct {
	Stamp    string // updated_in_db_at, exactly as the server formats it
	Prev     string // the previous version's updated_in_db_at; "" for none
	Location string
}

// registerModel is the sequential specification of the phones: one
// compare-and-set register per phone (the history is partitioned by
// registerInput.Phone), whose value is (updated_in_db_at, location).
//
//   - create: the phone must not exist; its value becomes the output.
//   - read: the output must equal the value.
//   - cas(expect, loc) succeeding (200): expect must name the stored
//     version (see names), the response must show loc and a later
//     updated_in_db_at (it is strictly increasing per row), and that pair
//     becomes the value, the old stamp its previous version.
//   - cas(expect, loc) failing (409): expect must not name the stored
//     version, whose updated_in_db_at the error names; the value is
//     unchanged.
func registerModel() porcupine.Model {
	return porcupine.Model{
		Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
			byPhone := map[int][]porcupine.Operation{}
			var order []int
			for _, op := range history {
				p := op.Input.(registerInput).Phone
				if _, ok := byPhone[p]; !ok {
					order = append(order, p)
				}
				byPhone[p] = append(byPhone[p], op)
			}
			parts := make([][]porcupine.Operation, 0, len(order))
			for _, p := range order {
				parts = append(parts, byPhone[p])
			}
			return parts
		},
		Init: func() any { return registerState{} },
		Step: func(state, input, output any) (bool, any) {
			s, in, out := state.(registerState), input.(registerInput), output.(registerOutput)
			exists := s != registerState{}
			switch in.Kind {
			case opCreate:
				return !exists && out.Stamp != "", registerState{Stamp: out.Stamp, Location: out.Location}
			case opRead:
				return exists && !out.OK && out.Stamp == s.Stamp && out.Location == s.Location, s
			case opCAS:
				if !exists {
					return false, s
				}
				if out.OK {
					ok := names(in.Expect, s) && out.Location == in.Location && later(out.Stamp, s.Stamp)
					return ok, registerState{Stamp: out.Stamp, Prev: s.Stamp, Location: in.Location}
				}
				return !names(in.Expect, s) && out.Stamp == s.Stamp, s
			}
			return false, s
		},
		DescribeOperation: func(input, output any) string {
			in, out := input.(registerInput), output.(registerOutput)
			switch {
			case in.Kind == opCAS && out.OK:
				return fmt.Sprintf("cas(%s, %q) → ok, %s", timeOfDay(in.Expect), in.Location, timeOfDay(out.Stamp))
			case in.Kind == opCAS:
				return fmt.Sprintf("cas(%s, %q) → conflict, stored %s", timeOfDay(in.Expect), in.Location, timeOfDay(out.Stamp))
			default:
				return fmt.Sprintf("%s → %s %q", in.Kind, timeOfDay(out.Stamp), out.Location)
			}
		},
		DescribeState: func(state any) string {
			s := state.(registerState)
			if s == (registerState{}) {
				return "no phone"
			}
			if s.Prev == "" {
				return fmt.Sprintf("%s %q", timeOfDay(s.Stamp), s.Location)
			}
			return fmt.Sprintf("%s %q (previous %s)", timeOfDay(s.Stamp), s.Location, timeOfDay(s.Prev))
		},
		DescribeOperationMetadata: func(info any) string {
			if info == nil {
				return ""
			}
			return fmt.Sprint(info)
		},
	}
}

// names reports whether the precondition expect names the register's
// stored version, as the server's rule has it: with milliseconds, expect
// must equal the stored updated_in_db_at; with less precision (whole
// seconds here), the interval it names must hold the stored value and not
// the previous version's. False when a timestamp does not parse.
func names(expect string, s registerState) bool {
	at, err := time.Parse(time.RFC3339Nano, expect)
	stored, serr := time.Parse(time.RFC3339Nano, s.Stamp)
	if err != nil || serr != nil {
		return false
	}
	precision := time.Millisecond
	if !strings.Contains(expect, ".") {
		precision = time.Second
	}
	in := func(t time.Time) bool { return t.Truncate(precision).Equal(at.Truncate(precision)) }
	if !in(stored) {
		return false
	}
	if precision == time.Millisecond || s.Prev == "" {
		return true
	}
	prev, err := time.Parse(time.RFC3339Nano, s.Prev)
	return err == nil && !in(prev)
}

// wholeSecond returns an updated_in_db_at as the server formats it
// truncated to the whole second, as clients of the source system send it.
func wholeSecond(stamp string) string {
	t, err := time.Parse(time.RFC3339Nano, stamp)
	if err != nil {
		return stamp
	}
	return t.UTC().Truncate(time.Second).Format(time.RFC3339)
}

// later reports whether RFC 3339 timestamp a is after b; false when
// either does not parse.
func later(a, b string) bool {
	ta, errA := time.Parse(time.RFC3339Nano, a)
	tb, errB := time.Parse(time.RFC3339Nano, b)
	return errA == nil && errB == nil && ta.After(tb)
}

// timeOfDay is a timestamp's time of day (all of one run fits in a day),
// for the visualisation.
func timeOfDay(stamp string) string {
	if _, clock, ok := strings.Cut(stamp, "T"); ok {
		return clock
	}
	return stamp
}

func TestLinearizability(t *testing.T) {
	forEachEngine(t, "linearizability.db", func(t *testing.T, engine, dsn string) {
		runLinearizability(t, engine, dsn, false)
	})
}

func TestLinearizabilityWholeSeconds(t *testing.T) {
	forEachEngine(t, "linearizability.db", func(t *testing.T, engine, dsn string) {
		runLinearizability(t, engine, dsn, true)
	})
}

// phoneRef addresses one phone.
type phoneRef struct{ cid, pid, id uuid.UUID }

// runLinearizability is the test of one engine, with dsn the --db of both
// processes; with wholeSeconds, half the writes send whole-second
// preconditions.
func runLinearizability(t *testing.T, engine, dsn string, wholeSeconds bool) {
	begin := time.Now()
	secret := newSecret(t)
	// No rate limit: the clients send as fast as the processes answer, and
	// a 429 would be an outcome outside the model.
	servers := servePair(t, "--db", dsn, "--jwt-secret", secret, "--rate-limit", "0")
	token := newToken(t, secret, uuid.NewString())
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = loadClients
	defer tr.CloseIdleConnections()
	hc := &http.Client{Timeout: requestTimeout, Transport: tr}
	procs := [2]*client.ClientWithResponses{
		clientAt(t, servers[0].URL, token, hc),
		clientAt(t, servers[1].URL, token, hc),
	}

	// One clock for every operation: the monotonic reading of this process.
	t0 := time.Now()
	clock := func() int64 { return int64(time.Since(t0)) }

	// Setup through A: a contact, a person, and the phones, whose creation
	// opens the history.
	ctx := context.Background()
	cid := newContact(t, procs[0], "Linearizability "+engine)
	pid := newPerson(t, procs[0], cid, "Register")
	var phones [registerPhones]phoneRef
	var known [registerPhones]string // updated_in_db_at as created
	var history []porcupine.Operation
	for i := range phones {
		body := client.PhoneCreateDocument{}
		body.Data.Type = "phone_numbers"
		body.Data.Attributes.Number = rawString(fmt.Sprintf("+1 617 555 %04d", 100+i))
		body.Data.Attributes.Location = nullable.NewNullableWithValue(fmt.Sprintf("init-p%d", i))
		call := clock()
		r, err := procs[0].CreatePhoneWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, cid, pid, nil, body)
		ret := clock()
		wantStatus(t, fmt.Sprintf("create phone %d", i), r, err, http.StatusCreated)
		out, err := registerValue(r.ApplicationvndApiJSON201.Data)
		if err != nil {
			t.Fatalf("create phone %d: %v; body %s", i, err, r.Body)
		}
		phones[i] = phoneRef{cid: cid, pid: pid, id: uuid.MustParse(r.ApplicationvndApiJSON201.Data.Id)}
		known[i] = out.Stamp
		history = append(history, porcupine.Operation{ClientId: setupClientID, Input: registerInput{Phone: i, Kind: opCreate},
			Call: call, Output: out, Return: ret, Metadata: "setup, process A"})
	}
	setupDur := time.Since(begin)

	// The clients.
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	runStart := time.Now()
	deadline := runStart.Add(loadDuration)
	type clientRun struct {
		ops []porcupine.Operation
		err error
	}
	runs := dbtest.Together(loadClients, func(c int) clientRun {
		ops, err := runClient(runCtx, c, procs, phones, known, clock, deadline, wholeSeconds)
		if err != nil {
			cancel() // the history is incomplete: stop everyone
		}
		return clientRun{ops, err}
	})
	runDur := time.Since(runStart)
	failed := false
	ops := make([][]porcupine.Operation, len(runs))
	for c, r := range runs {
		ops[c] = r.ops
		if r.err != nil && !errors.Is(r.err, context.Canceled) {
			t.Error(r.err)
			failed = true
		}
	}
	if failed {
		t.Fatal("an operation had an outcome outside the model (see above); the history is not checked, since leaving it out would be unsound")
	}
	for _, o := range ops {
		history = append(history, o...)
	}

	// The final value of every phone, as each process reads it.
	for i, ph := range phones {
		for n, c := range procs {
			in := registerInput{Phone: i, Kind: opRead}
			call := clock()
			out, err := doOp(ctx, c, ph, in)
			ret := clock()
			if err != nil {
				t.Fatalf("final read of phone %d through %s: %v", i, servers[n].name, err)
			}
			history = append(history, porcupine.Operation{ClientId: setupClientID, Input: in,
				Call: call, Output: out, Return: ret, Metadata: "final, " + servers[n].name})
		}
	}

	// Counts, then the check.
	var reads, casOK, casFailed, wholeOK, wholeFailed int
	var byProcess [2]int
	for _, o := range ops {
		for _, op := range o {
			in, out := op.Input.(registerInput), op.Output.(registerOutput)
			switch {
			case in.Kind == opRead:
				reads++
			case out.OK:
				casOK++
			default:
				casFailed++
			}
			if in.Kind == opCAS && !strings.Contains(in.Expect, ".") {
				if out.OK {
					wholeOK++
				} else {
					wholeFailed++
				}
			}
			for n, s := range servers {
				if op.Metadata == s.name {
					byProcess[n]++
				}
			}
		}
	}
	total := reads + casOK + casFailed
	t.Logf("%s: %d clients for %v across %s and %s on %d phones: %d operations (%.0f/s): %d reads, %d successful CAS, %d failed CAS; %s served %d, %s %d",
		engine, loadClients, runDur.Round(time.Millisecond), servers[0].name, servers[1].name, registerPhones,
		total, float64(total)/runDur.Seconds(), reads, casOK, casFailed,
		servers[0].name, byProcess[0], servers[1].name, byProcess[1])
	if wholeSeconds {
		t.Logf("%s: whole-second CAS: %d successful, %d failed", engine, wholeOK, wholeFailed)
	}

	model := registerModel()
	checkStart := time.Now()
	res, info := porcupine.CheckOperationsVerbose(model, history, checkTimeout)
	checkDur := time.Since(checkStart)
	t.Logf("%s: porcupine: %s for %d operations in %v (setup %v, total %v)",
		engine, res, len(history), checkDur.Round(time.Millisecond), setupDur.Round(time.Millisecond), time.Since(begin).Round(time.Millisecond))
	if res != porcupine.Ok {
		files, err := saveHistory(t, engine, model, history, info)
		if err != nil {
			t.Fatalf("%s: porcupine says %s (not Ok), and saving the history failed: %v", engine, res, err)
		}
		t.Fatalf("%s: porcupine says %s (not Ok) for the history of %d operations (per phone: %s); see %s",
			engine, res, len(history), checkPerPhone(model, history), strings.Join(files, " and "))
	}

	// A trivial history proves little.
	if byProcess[0] == 0 || byProcess[1] == 0 {
		t.Errorf("%s served %d operations and %s %d: want both to serve some", servers[0].name, byProcess[0], servers[1].name, byProcess[1])
	}
	if reads == 0 || casOK == 0 || casFailed == 0 {
		t.Errorf("%d reads, %d successful and %d failed CAS: want some of each", reads, casOK, casFailed)
	}
	if wholeSeconds && (wholeOK == 0 || wholeFailed == 0) {
		t.Errorf("%d successful and %d failed whole-second CAS: want some of each", wholeOK, wholeFailed)
	}
}

// runClient is client number id: until deadline (or ctx is done) it picks
// a phone and a process at random and reads the phone or, as often,
// compare-and-sets its location (unique per write) with the
// updated_in_db_at it last saw for that phone (initially known), with
// wholeSeconds half the time truncated to the second. It returns its
// operations and, when one had an outcome outside the model, the error
// that stopped it.
func runClient(ctx context.Context, id int, procs [2]*client.ClientWithResponses, phones [registerPhones]phoneRef,
	known [registerPhones]string, clock func() int64, deadline time.Time, wholeSeconds bool) ([]porcupine.Operation, error) {
	var ops []porcupine.Operation
	for n := 0; time.Now().Before(deadline); n++ {
		if err := ctx.Err(); err != nil {
			return ops, err
		}
		p, proc := mrand.IntN(registerPhones), mrand.IntN(2)
		in := registerInput{Phone: p, Kind: opRead}
		if mrand.IntN(2) == 0 {
			in = registerInput{Phone: p, Kind: opCAS, Expect: known[p], Location: fmt.Sprintf("c%d-w%d", id, n)}
			if wholeSeconds && mrand.IntN(2) == 0 {
				in.Expect = wholeSecond(known[p])
			}
		}
		name := string(rune('A' + proc))
		call := clock()
		out, err := doOp(ctx, procs[proc], phones[p], in)
		ret := clock()
		if err != nil {
			return ops, fmt.Errorf("client %d, process %s, %s of phone %d: %w", id, name, in.Kind, p, err)
		}
		ops = append(ops, porcupine.Operation{ClientId: id, Input: in, Call: call, Output: out, Return: ret, Metadata: "process " + name})
		known[p] = out.Stamp // a read, the new value, or the stored value a 409 names
	}
	return ops, nil
}

// doOp sends in's request (opRead or opCAS) for phone ph through c and
// returns its output. An error means an outcome outside the model: no
// response, or a status other than 200 (and, for opCAS, 409 with
// source.pointer /data/attributes/updated_in_db_at naming the stored
// value).
func doOp(ctx context.Context, c *client.ClientWithResponses, ph phoneRef, in registerInput) (registerOutput, error) {
	switch in.Kind {
	case opRead:
		r, err := c.GetPhoneWithResponse(ctx, ph.cid, ph.pid, ph.id, nil)
		if err != nil {
			return registerOutput{}, err
		}
		if r.StatusCode() != http.StatusOK || r.ApplicationvndApiJSON200 == nil {
			return registerOutput{}, fmt.Errorf("status %d, want 200; body %s", r.StatusCode(), r.Body)
		}
		return registerValue(r.ApplicationvndApiJSON200.Data)
	case opCAS:
		body := locationUpdate(in.Location)
		body.Data.Attributes.UpdatedInDbAt = ptr(in.Expect)
		r, err := c.PutPhoneWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, ph.cid, ph.pid, ph.id, nil, body)
		if err != nil {
			return registerOutput{}, err
		}
		switch {
		case r.StatusCode() == http.StatusOK && r.ApplicationvndApiJSON200 != nil:
			out, err := registerValue(r.ApplicationvndApiJSON200.Data)
			out.OK = true
			return out, err
		case r.StatusCode() == http.StatusConflict && r.ApplicationvndApiJSON409 != nil && len(r.ApplicationvndApiJSON409.Errors) > 0:
			e := r.ApplicationvndApiJSON409.Errors[0]
			if e.Source == nil || deref(e.Source.Pointer) != "/data/attributes/updated_in_db_at" {
				return registerOutput{}, fmt.Errorf("409 not on the precondition; body %s", r.Body)
			}
			var stored string
			if e.Meta != nil {
				stored, _ = (*e.Meta)["updated_in_db_at"].(string)
			}
			if stored == "" {
				return registerOutput{}, fmt.Errorf("409 without meta.updated_in_db_at; body %s", r.Body)
			}
			return registerOutput{Stamp: stored}, nil
		}
		return registerOutput{}, fmt.Errorf("status %d, want 200 or 409; body %s", r.StatusCode(), r.Body)
	}
	return registerOutput{}, fmt.Errorf("unknown operation kind %q", in.Kind)
}

// registerValue is a phone's register value as a response shows it.
func registerValue(p client.PhoneResource) (registerOutput, error) {
	stamp := deref(p.Attributes.UpdatedInDbAt)
	if stamp == "" {
		return registerOutput{}, errors.New("no updated_in_db_at")
	}
	loc, err := p.Attributes.Location.Get()
	if err != nil {
		return registerOutput{}, fmt.Errorf("location: %w", err)
	}
	return registerOutput{Stamp: stamp, Location: loc}, nil
}

// checkPerPhone checks each phone's history on its own and describes the
// results, e.g. "0 Ok, 1 Illegal, 2 Ok", to say which registers failed.
func checkPerPhone(model porcupine.Model, history []porcupine.Operation) string {
	var parts []string
	for p := range registerPhones {
		var ops []porcupine.Operation
		for _, op := range history {
			if op.Input.(registerInput).Phone == p {
				ops = append(ops, op)
			}
		}
		parts = append(parts, fmt.Sprintf("%d %s", p, porcupine.CheckOperationsTimeout(model, ops, checkTimeout)))
	}
	return strings.Join(parts, ", ")
}

// saveHistory writes history as JSON and porcupine's visualisation of info as
// HTML into a directory that outlives the test: the test's artifact
// directory under -artifacts, else a new one under os.TempDir(). It
// returns the paths of the two files.
func saveHistory(t *testing.T, name string, model porcupine.Model, history []porcupine.Operation, info porcupine.LinearizationInfo) ([]string, error) {
	var dir string
	if f := flag.Lookup("test.artifacts"); f != nil && f.Value.String() == "true" {
		dir = t.ArtifactDir()
	} else {
		d, err := os.MkdirTemp("", "phoneapi-linearizability-")
		if err != nil {
			return nil, err
		}
		dir = d
	}
	jsonPath := filepath.Join(dir, name+"-history.json")
	htmlPath := filepath.Join(dir, name+"-history.html")
	// A JSON array, one operation a line.
	b := []byte("[\n")
	for i, op := range history {
		line, err := json.Marshal(op)
		if err != nil {
			return nil, err
		}
		b = append(b, line...)
		if i < len(history)-1 {
			b = append(b, ',')
		}
		b = append(b, '\n')
	}
	b = append(b, "]\n"...)
	if err := os.WriteFile(jsonPath, b, 0o644); err != nil {
		return nil, err
	}
	if err := porcupine.VisualizePath(model, info, htmlPath); err != nil {
		return []string{jsonPath}, fmt.Errorf("visualize: %w", err)
	}
	return []string{jsonPath, htmlPath}, nil
}

// TestLinearizabilityModel checks registerModel on hand-written histories of two
// phones: those that are linearizable must give Ok, the others Illegal.
// It needs no server.
func TestLinearizabilityModel(t *testing.T) {
	const (
		s0 = "2026-01-02T03:04:05.000Z" // created
		s1 = "2026-01-02T03:04:05.001Z"
		s2 = "2026-01-02T03:04:05.002Z"
		s9 = "2026-01-02T03:04:05.009Z" // never written
		w5 = "2026-01-02T03:04:05Z"     // whole seconds
		s6 = "2026-01-02T03:04:06.000Z"
		w6 = "2026-01-02T03:04:06Z"
	)
	// op is one operation of client c on phone p over [call, ret].
	op := func(c, p int, call, ret int64, in registerInput, out registerOutput) porcupine.Operation {
		in.Phone = p
		return porcupine.Operation{ClientId: c, Input: in, Call: call, Output: out, Return: ret}
	}
	create := func(p int) porcupine.Operation {
		return op(0, p, 0, 1, registerInput{Kind: opCreate}, registerOutput{Stamp: s0, Location: "init"})
	}
	read := func(c, p int, call, ret int64, stamp, loc string) porcupine.Operation {
		return op(c, p, call, ret, registerInput{Kind: opRead}, registerOutput{Stamp: stamp, Location: loc})
	}
	casOK := func(c, p int, call, ret int64, expect, loc, stamp string) porcupine.Operation {
		return op(c, p, call, ret, registerInput{Kind: opCAS, Expect: expect, Location: loc}, registerOutput{OK: true, Stamp: stamp, Location: loc})
	}
	casFail := func(c, p int, call, ret int64, expect, loc, stored string) porcupine.Operation {
		return op(c, p, call, ret, registerInput{Kind: opCAS, Expect: expect, Location: loc}, registerOutput{Stamp: stored})
	}
	tests := []struct {
		name    string
		history []porcupine.Operation
		want    porcupine.CheckResult
	}{
		{"sequential reads and writes", []porcupine.Operation{
			create(0), read(1, 0, 2, 3, s0, "init"),
			casOK(1, 0, 4, 5, s0, "a", s1), casFail(2, 0, 6, 7, s0, "b", s1), read(2, 0, 8, 9, s1, "a"),
		}, porcupine.Ok},
		{"concurrent CAS from one value: one wins, the other fails after it", []porcupine.Operation{
			create(0), casOK(1, 0, 2, 10, s0, "a", s1), casFail(2, 0, 3, 9, s0, "b", s1),
		}, porcupine.Ok},
		{"a read concurrent with a write may see either value", []porcupine.Operation{
			create(0), casOK(1, 0, 2, 10, s0, "a", s1), read(2, 0, 3, 4, s0, "init"), read(3, 0, 5, 6, s1, "a"),
		}, porcupine.Ok},
		{"two phones are independent registers", []porcupine.Operation{
			create(0), create(1), casOK(1, 0, 2, 3, s0, "a", s1), read(2, 1, 4, 5, s0, "init"),
		}, porcupine.Ok},
		{"two successful CAS from one value", []porcupine.Operation{
			create(0), casOK(1, 0, 2, 10, s0, "a", s1), casOK(2, 0, 3, 9, s0, "b", s2),
		}, porcupine.Illegal},
		{"a stale read after a completed write", []porcupine.Operation{
			create(0), casOK(1, 0, 2, 3, s0, "a", s1), read(2, 0, 4, 5, s0, "init"),
		}, porcupine.Illegal},
		{"a read of a value never written", []porcupine.Operation{
			create(0), read(1, 0, 2, 3, s9, "ghost"),
		}, porcupine.Illegal},
		{"a read of another phone's value", []porcupine.Operation{
			create(0), create(1), casOK(1, 0, 2, 3, s0, "a", s1), read(2, 1, 4, 5, s1, "a"),
		}, porcupine.Illegal},
		{"a CAS that fails although its precondition holds", []porcupine.Operation{
			create(0), casFail(1, 0, 2, 3, s0, "a", s0),
		}, porcupine.Illegal},
		{"a failed CAS naming a stored value that is not", []porcupine.Operation{
			create(0), casOK(1, 0, 2, 3, s0, "a", s1), casFail(2, 0, 4, 5, s0, "b", s2),
		}, porcupine.Illegal},
		{"a CAS that succeeds against a stale value", []porcupine.Operation{
			create(0), casOK(1, 0, 2, 3, s0, "a", s1), casOK(2, 0, 4, 5, s0, "b", s2),
		}, porcupine.Illegal},
		{"a write whose updated_in_db_at does not increase", []porcupine.Operation{
			create(0), casOK(1, 0, 2, 3, s0, "a", s0),
		}, porcupine.Illegal},
		{"a write lost after it completed", []porcupine.Operation{
			create(0), casOK(1, 0, 2, 3, s0, "a", s1), casOK(2, 0, 4, 5, s1, "b", s2), read(3, 0, 6, 7, s1, "a"),
		}, porcupine.Illegal},
		{"whole seconds: naming the one version of the second", []porcupine.Operation{
			create(0), casOK(1, 0, 2, 3, w5, "a", s1),
		}, porcupine.Ok},
		{"whole seconds: two versions in the second, refused", []porcupine.Operation{
			create(0), casOK(1, 0, 2, 3, w5, "a", s1), casFail(2, 0, 4, 5, w5, "b", s1),
		}, porcupine.Ok},
		{"whole seconds: the latest version alone in its second", []porcupine.Operation{
			create(0), casOK(1, 0, 2, 3, s0, "a", s6), casOK(2, 0, 4, 5, w6, "b", "2026-01-02T03:04:06.001Z"),
		}, porcupine.Ok},
		{"whole seconds: the lost update, two successes from one second", []porcupine.Operation{
			create(0), casOK(1, 0, 2, 3, w5, "a", s1), casOK(2, 0, 4, 5, w5, "b", s2),
		}, porcupine.Illegal},
		{"whole seconds: concurrent, both succeed", []porcupine.Operation{
			create(0), casOK(1, 0, 2, 10, w5, "a", s1), casOK(2, 0, 3, 9, w5, "b", s2),
		}, porcupine.Illegal},
		{"whole seconds: refused although the second holds one version", []porcupine.Operation{
			create(0), casFail(1, 0, 2, 3, w5, "a", s0),
		}, porcupine.Illegal},
		{"whole seconds: another second, refused", []porcupine.Operation{
			create(0), casFail(1, 0, 2, 3, w6, "a", s0),
		}, porcupine.Ok},
	}
	model := registerModel()
	for _, tc := range tests {
		res, info := porcupine.CheckOperationsVerbose(model, tc.history, 10*time.Second)
		if res != tc.want {
			t.Errorf("%s: porcupine says %s, want %s", tc.name, res, tc.want)
			continue
		}
		// The visualisation renders every operation and state.
		var sb strings.Builder
		if err := porcupine.Visualize(model, info, &sb); err != nil {
			t.Errorf("%s: visualize: %v", tc.name, err)
		}
	}
}
