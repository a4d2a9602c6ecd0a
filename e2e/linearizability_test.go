package e2e

// TestLinearizability checks with porcupine that every phone behaves as a
// linearizable compare-and-set register when two `phoneapi serve`
// processes share one database, once per engine (as TestReplicas: a SQLite
// file, then a throwaway PostgreSQL database from
// PHONEAPI_TEST_POSTGRES_URL). linClients clients send a random mix of
// reads (GET a phone) and compare-and-set writes (PUT a new location with
// the updated_in_db_at the client last saw as the precondition) to
// linPhones shared phones for linDuration, each request to a random one of
// the two processes, and record every operation's call and return time on
// this process's monotonic clock. The history, partitioned by phone, must
// be linearizable under linModel.
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
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/google/uuid"
	"github.com/oapi-codegen/nullable"

	"github.com/phoneapi/phoneapi/generated/client"
)

const (
	// linDuration is how long the clients send requests, per engine.
	linDuration = 10 * time.Second
	// linClients is how many clients send requests at once.
	linClients = 8
	// linPhones is how many phones (independent registers) they share.
	linPhones = 3
	// linCheckTimeout bounds porcupine's search, per engine.
	linCheckTimeout = 60 * time.Second
	// linRequestTimeout is generous: a request that times out has an
	// unknown outcome, which fails the test.
	linRequestTimeout = 2 * time.Minute
	// linSetup is the ClientId of the sequential operations before and
	// after the clients run (creating the phones, the final reads).
	linSetup = linClients
)

// The kinds of operation on a phone register.
const (
	linCreate = "create" // POST the phone: output its first value
	linRead   = "read"   // GET the phone: output its value
	linCAS    = "cas"    // PUT location with the updated_in_db_at precondition
)

// linInput is an operation's input. Phone is the partition: the index of
// the phone it targets.
type linInput struct {
	Phone    int    `json:"phone"`
	Kind     string `json:"kind"`               // linCreate, linRead or linCAS
	Expect   string `json:"expect,omitempty"`   // linCAS: the updated_in_db_at precondition
	Location string `json:"location,omitempty"` // linCAS: the location written
}

// linOutput is an operation's output. For linCreate, linRead and a
// successful linCAS (OK) it is the phone as the response showed it; for a
// failed linCAS (409 on the precondition) Stamp is the stored
// updated_in_db_at the error names and Location is empty.
type linOutput struct {
	OK       bool   `json:"ok,omitempty"`
	Stamp    string `json:"updated_in_db_at"`
	Location string `json:"location,omitempty"`
}

// linState is one phone register's value; the zero value means the phone
// does not exist yet.
type linState struct {
	Stamp    string // updated_in_db_at, exactly as the server formats it
	Location string
}

// linModel is the sequential specification of the phones: one
// compare-and-set register per phone (the history is partitioned by
// linInput.Phone), whose value is (updated_in_db_at, location).
//
//   - create: the phone must not exist; its value becomes the output.
//   - read: the output must equal the value.
//   - cas(expect, loc) succeeding (200): the stored updated_in_db_at must
//     equal expect, the response must show loc and a later updated_in_db_at
//     (it is strictly increasing per row), and that pair becomes the value.
//   - cas(expect, loc) failing (409): the stored updated_in_db_at must differ
//     from expect and equal the one the error names; the value is unchanged.
func linModel() porcupine.Model {
	return porcupine.Model{
		Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
			byPhone := map[int][]porcupine.Operation{}
			var order []int
			for _, op := range history {
				p := op.Input.(linInput).Phone
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
		Init: func() any { return linState{} },
		Step: func(state, input, output any) (bool, any) {
			s, in, out := state.(linState), input.(linInput), output.(linOutput)
			exists := s != linState{}
			switch in.Kind {
			case linCreate:
				return !exists && out.Stamp != "", linState{Stamp: out.Stamp, Location: out.Location}
			case linRead:
				return exists && !out.OK && out.Stamp == s.Stamp && out.Location == s.Location, s
			case linCAS:
				if !exists {
					return false, s
				}
				if out.OK {
					ok := s.Stamp == in.Expect && out.Location == in.Location && linLater(out.Stamp, s.Stamp)
					return ok, linState{Stamp: out.Stamp, Location: in.Location}
				}
				return s.Stamp != in.Expect && out.Stamp == s.Stamp, s
			}
			return false, s
		},
		DescribeOperation: func(input, output any) string {
			in, out := input.(linInput), output.(linOutput)
			switch {
			case in.Kind == linCAS && out.OK:
				return fmt.Sprintf("cas(%s, %q) → ok, %s", linShort(in.Expect), in.Location, linShort(out.Stamp))
			case in.Kind == linCAS:
				return fmt.Sprintf("cas(%s, %q) → conflict, stored %s", linShort(in.Expect), in.Location, linShort(out.Stamp))
			default:
				return fmt.Sprintf("%s → %s %q", in.Kind, linShort(out.Stamp), out.Location)
			}
		},
		DescribeState: func(state any) string {
			s := state.(linState)
			if s == (linState{}) {
				return "no phone"
			}
			return fmt.Sprintf("%s %q", linShort(s.Stamp), s.Location)
		},
		DescribeOperationMetadata: func(info any) string {
			if info == nil {
				return ""
			}
			return fmt.Sprint(info)
		},
	}
}

// linLater reports whether RFC 3339 timestamp a is after b; false when
// either does not parse.
func linLater(a, b string) bool {
	ta, errA := time.Parse(time.RFC3339Nano, a)
	tb, errB := time.Parse(time.RFC3339Nano, b)
	return errA == nil && errB == nil && ta.After(tb)
}

// linShort is a timestamp's time of day (all of one run fits in a day),
// for the visualisation.
func linShort(stamp string) string {
	if _, clock, ok := strings.Cut(stamp, "T"); ok {
		return clock
	}
	return stamp
}

func TestLinearizability(t *testing.T) {
	if serverBin == "" {
		t.Skip("no phoneapi binary built (PHONEAPI_E2E_URL or -short): the linearizability test starts servers of its own")
	}
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			var dsn string
			if engine == "sqlite" {
				dsn = filepath.Join(t.TempDir(), "linearizability.db")
			} else {
				dsn = rpPostgresDB(t)
			}
			linRun(t, engine, dsn)
		})
	}
}

// linPhone addresses one phone.
type linPhone struct{ cid, pid, id uuid.UUID }

// linRun is the test of one engine, with dsn the --db of both processes.
func linRun(t *testing.T, engine, dsn string) {
	begin := time.Now()
	secretBuf := make([]byte, 32)
	if _, err := rand.Read(secretBuf); err != nil {
		t.Fatal(err)
	}
	secret := hex.EncodeToString(secretBuf)
	// No rate limit: the clients send as fast as the processes answer, and
	// a 429 would be an outcome outside the model.
	servers := rpStartPair(t, dsn, secret, "--rate-limit", "0")
	token := rpToken(t, secret)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = linClients
	defer tr.CloseIdleConnections()
	hc := &http.Client{Timeout: linRequestTimeout, Transport: tr}
	procs := [2]*client.ClientWithResponses{
		rpClient(t, servers[0].url, token, hc),
		rpClient(t, servers[1].url, token, hc),
	}

	// One clock for every operation: the monotonic reading of this process.
	t0 := time.Now()
	clock := func() int64 { return int64(time.Since(t0)) }

	// Setup through A: a contact, a person, and the phones, whose creation
	// opens the history.
	ctx := context.Background()
	cb := client.ContactCreateDocument{}
	cb.Data.Type = "contacts"
	cb.Data.Attributes.Name = "Linearizability " + engine
	rc, err := procs[0].CreateContactWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, nil, cb)
	wantStatus(t, "create contact", rc, err, http.StatusCreated)
	cid := uuid.MustParse(rc.ApplicationvndApiJSON201.Data.Id)
	pid := rpPerson(t, procs[0], cid, "Register")
	var phones [linPhones]linPhone
	var known [linPhones]string // updated_in_db_at as created
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
		out, err := linPhoneOutput(r.ApplicationvndApiJSON201.Data)
		if err != nil {
			t.Fatalf("create phone %d: %v; body %s", i, err, r.Body)
		}
		phones[i] = linPhone{cid: cid, pid: pid, id: uuid.MustParse(r.ApplicationvndApiJSON201.Data.Id)}
		known[i] = out.Stamp
		history = append(history, porcupine.Operation{ClientId: linSetup, Input: linInput{Phone: i, Kind: linCreate},
			Call: call, Output: out, Return: ret, Metadata: "setup, process A"})
	}
	setupDur := time.Since(begin)

	// The clients.
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	runStart := time.Now()
	deadline := runStart.Add(linDuration)
	ops := make([][]porcupine.Operation, linClients)
	errs := make([]error, linClients)
	var wg sync.WaitGroup
	for c := range linClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ops[c], errs[c] = linClient(runCtx, c, procs, phones, known, clock, deadline)
			if errs[c] != nil {
				cancel() // the history is incomplete: stop everyone
			}
		}()
	}
	wg.Wait()
	runDur := time.Since(runStart)
	failed := false
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Error(err)
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
			in := linInput{Phone: i, Kind: linRead}
			call := clock()
			out, err := linDo(ctx, c, ph, in)
			ret := clock()
			if err != nil {
				t.Fatalf("final read of phone %d through %s: %v", i, servers[n].name, err)
			}
			history = append(history, porcupine.Operation{ClientId: linSetup, Input: in,
				Call: call, Output: out, Return: ret, Metadata: "final, process " + servers[n].name})
		}
	}

	// Counts, then the check.
	var reads, casOK, casFailed int
	var byProcess [2]int
	for _, o := range ops {
		for _, op := range o {
			switch in, out := op.Input.(linInput), op.Output.(linOutput); {
			case in.Kind == linRead:
				reads++
			case out.OK:
				casOK++
			default:
				casFailed++
			}
			for n, s := range servers {
				if op.Metadata == "process "+s.name {
					byProcess[n]++
				}
			}
		}
	}
	total := reads + casOK + casFailed
	t.Logf("%s: %d clients for %v across %s and %s on %d phones: %d operations (%.0f/s): %d reads, %d successful CAS, %d failed CAS; %s served %d, %s %d",
		engine, linClients, runDur.Round(time.Millisecond), servers[0].name, servers[1].name, linPhones,
		total, float64(total)/runDur.Seconds(), reads, casOK, casFailed,
		servers[0].name, byProcess[0], servers[1].name, byProcess[1])

	model := linModel()
	checkStart := time.Now()
	res, info := porcupine.CheckOperationsVerbose(model, history, linCheckTimeout)
	checkDur := time.Since(checkStart)
	t.Logf("%s: porcupine: %s for %d operations in %v (setup %v, total %v)",
		engine, res, len(history), checkDur.Round(time.Millisecond), setupDur.Round(time.Millisecond), time.Since(begin).Round(time.Millisecond))
	if res != porcupine.Ok {
		files, err := linSave(t, engine, model, history, info)
		if err != nil {
			t.Fatalf("%s: porcupine says %s (not Ok), and saving the history failed: %v", engine, res, err)
		}
		t.Fatalf("%s: porcupine says %s (not Ok) for the history of %d operations (per phone: %s); see %s",
			engine, res, len(history), linPerPhone(model, history), strings.Join(files, " and "))
	}

	// A trivial history proves little.
	if byProcess[0] == 0 || byProcess[1] == 0 {
		t.Errorf("%s served %d operations and %s %d: want both to serve some", servers[0].name, byProcess[0], servers[1].name, byProcess[1])
	}
	if reads == 0 || casOK == 0 || casFailed == 0 {
		t.Errorf("%d reads, %d successful and %d failed CAS: want some of each", reads, casOK, casFailed)
	}
}

// linClient is client number id: until deadline (or ctx is done) it picks
// a phone and a process at random and reads the phone or, as often,
// compare-and-sets its location (unique per write) with the
// updated_in_db_at it last saw for that phone (initially known). It
// returns its operations and, when one had an outcome outside the model,
// the error that stopped it.
func linClient(ctx context.Context, id int, procs [2]*client.ClientWithResponses, phones [linPhones]linPhone,
	known [linPhones]string, clock func() int64, deadline time.Time) ([]porcupine.Operation, error) {
	var ops []porcupine.Operation
	for n := 0; time.Now().Before(deadline); n++ {
		if err := ctx.Err(); err != nil {
			return ops, err
		}
		p, proc := mrand.IntN(linPhones), mrand.IntN(2)
		in := linInput{Phone: p, Kind: linRead}
		if mrand.IntN(2) == 0 {
			in = linInput{Phone: p, Kind: linCAS, Expect: known[p], Location: fmt.Sprintf("c%d-w%d", id, n)}
		}
		name := string(rune('A' + proc))
		call := clock()
		out, err := linDo(ctx, procs[proc], phones[p], in)
		ret := clock()
		if err != nil {
			return ops, fmt.Errorf("client %d, process %s, %s of phone %d: %w", id, name, in.Kind, p, err)
		}
		ops = append(ops, porcupine.Operation{ClientId: id, Input: in, Call: call, Output: out, Return: ret, Metadata: "process " + name})
		known[p] = out.Stamp // a read, the new value, or the stored value a 409 names
	}
	return ops, nil
}

// linDo sends in's request (linRead or linCAS) for phone ph through c and
// returns its output. An error means an outcome outside the model: no
// response, or a status other than 200 (and, for linCAS, 409 with
// source.pointer /data/attributes/updated_in_db_at naming the stored
// value).
func linDo(ctx context.Context, c *client.ClientWithResponses, ph linPhone, in linInput) (linOutput, error) {
	switch in.Kind {
	case linRead:
		r, err := c.GetPhoneWithResponse(ctx, ph.cid, ph.pid, ph.id, nil)
		if err != nil {
			return linOutput{}, err
		}
		if r.StatusCode() != http.StatusOK || r.ApplicationvndApiJSON200 == nil {
			return linOutput{}, fmt.Errorf("status %d, want 200; body %s", r.StatusCode(), r.Body)
		}
		return linPhoneOutput(r.ApplicationvndApiJSON200.Data)
	case linCAS:
		body := client.PhoneUpdateDocument{}
		body.Data.Type = "phone_numbers"
		body.Data.Attributes.Location = nullable.NewNullableWithValue(in.Location)
		body.Data.Attributes.UpdatedInDbAt = ptr(in.Expect)
		r, err := c.PutPhoneWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, ph.cid, ph.pid, ph.id, nil, body)
		if err != nil {
			return linOutput{}, err
		}
		switch {
		case r.StatusCode() == http.StatusOK && r.ApplicationvndApiJSON200 != nil:
			out, err := linPhoneOutput(r.ApplicationvndApiJSON200.Data)
			out.OK = true
			return out, err
		case r.StatusCode() == http.StatusConflict && r.ApplicationvndApiJSON409 != nil && len(r.ApplicationvndApiJSON409.Errors) > 0:
			e := r.ApplicationvndApiJSON409.Errors[0]
			if e.Source == nil || deref(e.Source.Pointer) != "/data/attributes/updated_in_db_at" {
				return linOutput{}, fmt.Errorf("409 not on the precondition; body %s", r.Body)
			}
			var stored string
			if e.Meta != nil {
				stored, _ = (*e.Meta)["updated_in_db_at"].(string)
			}
			if stored == "" {
				return linOutput{}, fmt.Errorf("409 without meta.updated_in_db_at; body %s", r.Body)
			}
			return linOutput{Stamp: stored}, nil
		}
		return linOutput{}, fmt.Errorf("status %d, want 200 or 409; body %s", r.StatusCode(), r.Body)
	}
	return linOutput{}, fmt.Errorf("unknown operation kind %q", in.Kind)
}

// linPhoneOutput is a phone's register value as a response shows it.
func linPhoneOutput(p client.PhoneResource) (linOutput, error) {
	stamp := deref(p.Attributes.UpdatedInDbAt)
	if stamp == "" {
		return linOutput{}, errors.New("no updated_in_db_at")
	}
	loc, err := p.Attributes.Location.Get()
	if err != nil {
		return linOutput{}, fmt.Errorf("location: %w", err)
	}
	return linOutput{Stamp: stamp, Location: loc}, nil
}

// linPerPhone checks each phone's history on its own and describes the
// results, e.g. "0 Ok, 1 Illegal, 2 Ok", to say which registers failed.
func linPerPhone(model porcupine.Model, history []porcupine.Operation) string {
	var parts []string
	for p := range linPhones {
		var ops []porcupine.Operation
		for _, op := range history {
			if op.Input.(linInput).Phone == p {
				ops = append(ops, op)
			}
		}
		parts = append(parts, fmt.Sprintf("%d %s", p, porcupine.CheckOperationsTimeout(model, ops, linCheckTimeout)))
	}
	return strings.Join(parts, ", ")
}

// linSave writes history as JSON and porcupine's visualisation of info as
// HTML into a directory that outlives the test: the test's artifact
// directory under -artifacts, else a new one under os.TempDir(). It
// returns the paths of the two files.
func linSave(t *testing.T, name string, model porcupine.Model, history []porcupine.Operation, info porcupine.LinearizationInfo) ([]string, error) {
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

// TestLinearizabilityModel checks linModel on hand-written histories of two
// phones: those that are linearizable must give Ok, the others Illegal.
// It needs no server.
func TestLinearizabilityModel(t *testing.T) {
	const (
		s0 = "2026-01-02T03:04:05.000Z" // created
		s1 = "2026-01-02T03:04:05.001Z"
		s2 = "2026-01-02T03:04:05.002Z"
		s9 = "2026-01-02T03:04:05.009Z" // never written
	)
	// op is one operation of client c on phone p over [call, ret].
	op := func(c, p int, call, ret int64, in linInput, out linOutput) porcupine.Operation {
		in.Phone = p
		return porcupine.Operation{ClientId: c, Input: in, Call: call, Output: out, Return: ret}
	}
	create := func(p int) porcupine.Operation {
		return op(0, p, 0, 1, linInput{Kind: linCreate}, linOutput{Stamp: s0, Location: "init"})
	}
	read := func(c, p int, call, ret int64, stamp, loc string) porcupine.Operation {
		return op(c, p, call, ret, linInput{Kind: linRead}, linOutput{Stamp: stamp, Location: loc})
	}
	casOK := func(c, p int, call, ret int64, expect, loc, stamp string) porcupine.Operation {
		return op(c, p, call, ret, linInput{Kind: linCAS, Expect: expect, Location: loc}, linOutput{OK: true, Stamp: stamp, Location: loc})
	}
	casFail := func(c, p int, call, ret int64, expect, loc, stored string) porcupine.Operation {
		return op(c, p, call, ret, linInput{Kind: linCAS, Expect: expect, Location: loc}, linOutput{Stamp: stored})
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
	}
	model := linModel()
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
