//go:build linux

package e2e

// TestOutage takes the database away from a running `phoneapi serve` and
// gives it back, once per engine, and checks what clients and operators
// see:
//
//   - postgres_stopped: a private PostgreSQL cluster of the test's own is
//     stopped. Reads and writes answer 503 with Retry-After and a JSON:API
//     error within a few seconds, and GET /readyz answers 503 with the
//     database "unreachable". Once the cluster is started again /readyz
//     turns 200 and reads and writes work, without restarting phoneapi.
//   - sqlite_disk_full: the SQLite file lives on a small tmpfs that the
//     test fills. Writes answer 201 until one answers 503 (never 500),
//     GET /readyz answers 503 with the database "not writable", and reads
//     carry on. Once the space is freed /readyz turns 200 and writes work.
//
// Either way nothing of a write answered 503 is stored.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/phoneapi/phoneapi/cmd/childproc"
	"github.com/phoneapi/phoneapi/generated/client"
)

// answerWithin bounds how long a request may take to answer 503 while
// the database is away.
const answerWithin = 5 * time.Second

func TestOutage(t *testing.T) {
	needServerBin(t)
	t.Run("postgres_stopped", postgresStopped)
	t.Run("sqlite_disk_full", sqliteDiskFull)
}

// postgresStopped stops the cluster under a running server and starts it
// again.
func postgresStopped(t *testing.T) {
	ctx := context.Background()
	pg := newCluster(t)
	secret := newSecret(t)
	srv := serve(t, "server", "--db", pg.URL(), "--jwt-secret", secret, "--rate-limit", "0",
		"--request-timeout", "2s", "--pg-connect-timeout", "1s")
	hc := &http.Client{Timeout: 30 * time.Second}
	c := clientAt(t, srv.URL, newToken(t, secret, uuid.NewString()), hc)
	cid := newContact(t, c, "Outage PostgreSQL")
	pid := newPerson(t, c, cid, "Person")
	before := []string{
		newPhone(t, c, cid, pid, "+1 617 555 0101").Id,
		newPhone(t, c, cid, pid, "+1 617 555 0102").Id,
	}
	phone := uuid.MustParse(before[0])
	if got := phoneIDs(t, c, cid, pid); !slices.Equal(got, sorted(before)) {
		t.Fatalf("before the outage the person has phones %v, want %v", got, sorted(before))
	}

	pg.Stop(t)
	const outageLocation = "sent during the outage"
	for _, req := range []struct {
		name string
		send func() (*http.Response, []byte, error)
	}{
		{"GET the phone", func() (*http.Response, []byte, error) {
			r, err := c.GetPhoneWithResponse(ctx, cid, pid, phone, nil)
			if err != nil {
				return nil, nil, err
			}
			return r.HTTPResponse, r.Body, nil
		}},
		{"POST a phone", func() (*http.Response, []byte, error) {
			resp, body, _, err := postPhone(ctx, c, cid, pid, "+1 617 555 0103", "")
			return resp, body, err
		}},
		{"PATCH the phone", func() (*http.Response, []byte, error) {
			return patchLocation(ctx, c, cid, pid, phone, outageLocation)
		}},
	} {
		start := time.Now()
		resp, body, err := req.send()
		took := time.Since(start)
		want503(t, req.name+" with the cluster stopped", resp, body, err)
		if took > answerWithin {
			t.Errorf("%s with the cluster stopped took %v, want at most %v", req.name, took, answerWithin)
		}
		t.Logf("%s with the cluster stopped: %s in %v: %s", req.name, statusLine(resp), took.Round(time.Millisecond), bytes.TrimSpace(body))
	}
	wantNotReady(t, hc, srv.URL, "unreachable")

	pg.Start(t)
	took := waitReadyz(t, hc, srv.URL, 15*time.Second)
	t.Logf("ready %v after the cluster started", took.Round(time.Millisecond))
	g, err := c.GetPhoneWithResponse(ctx, cid, pid, phone, nil)
	wantStatus(t, "GET the phone after the outage", g, err, http.StatusOK)
	after := newPhone(t, c, cid, pid, "+1 617 555 0104").Id
	want := sorted(append(before, after))
	if got := phoneIDs(t, c, cid, pid); !slices.Equal(got, want) {
		t.Errorf("after the outage the person has phones %v, want %v (those created before it and after it, none refused during it)", got, want)
	}
	loc := g.ApplicationvndApiJSON200.Data.Attributes.Location
	if loc.IsSpecified() && !loc.IsNull() && loc.MustGet() == outageLocation {
		t.Errorf("the phone's location is %q: the PATCH answered 503 was stored", outageLocation)
	}
}

// sqliteDiskFull fills the file system of the database under a running
// server and frees it again.
func sqliteDiskFull(t *testing.T) {
	ctx := context.Background()
	dir := mountTmpfs(t, "8m")
	secret := newSecret(t)
	srv := serve(t, "server", "--db", filepath.Join(dir, "x.db"), "--jwt-secret", secret, "--rate-limit", "0",
		"--request-timeout", "2s")
	hc := &http.Client{Timeout: 30 * time.Second}
	c := clientAt(t, srv.URL, newToken(t, secret, uuid.NewString()), hc)
	cid := newContact(t, c, "Outage SQLite")
	pid := newPerson(t, c, cid, "Person")

	filler := filepath.Join(dir, "filler")
	n := fillDisk(t, filler)
	t.Logf("filler file: %d KiB, the file system is full", n>>10)

	// Location and source are at most 64 characters: each phone is as
	// large as the API allows, and each commit needs new WAL frames.
	location := strings.Repeat("L", 64)
	var stored []string // ids of the phones answered 201
	refused := 0
	const maxPosts = 500
	for i := 0; i < maxPosts && refused == 0; i++ {
		resp, body, id, err := postPhone(ctx, c, cid, pid, fmt.Sprintf("+1 617 200 %04d", i), location)
		if err != nil {
			t.Fatalf("POST phone %d with the disk full: %v", i, err)
		}
		switch resp.StatusCode {
		case http.StatusCreated:
			stored = append(stored, id)
		case http.StatusServiceUnavailable:
			want503(t, fmt.Sprintf("POST phone %d with the disk full", i), resp, body, nil)
			t.Logf("POST phone %d with the disk full: %s: %s", i, resp.Status, bytes.TrimSpace(body))
			refused++
		default:
			t.Fatalf("POST phone %d with the disk full: status %d, want 201 or 503; body %s", i, resp.StatusCode, body)
		}
	}
	if refused == 0 {
		t.Fatalf("%d POSTs with the disk full all answered 201, want a 503", maxPosts)
	}
	t.Logf("with the disk full: %d POSTs answered 201, then one 503", len(stored))

	wantNotReady(t, hc, srv.URL, "not writable")
	if got, want := phoneIDs(t, c, cid, pid), sorted(stored); !slices.Equal(got, want) {
		t.Errorf("with the disk full the person has phones %v, want the %d answered 201: %v", got, len(want), want)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	took := waitReadyz(t, hc, srv.URL, 10*time.Second)
	t.Logf("ready %v after the filler file was removed", took.Round(time.Millisecond))
	resp, body, id, err := postPhone(ctx, c, cid, pid, "+1 617 555 0199", location)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST a phone after the disk was freed: %s, want 201; body %s (%v)", statusLine(resp), body, err)
	}
	stored = append(stored, id)
	if got, want := phoneIDs(t, c, cid, pid), sorted(stored); !slices.Equal(got, want) {
		t.Errorf("after the outage the person has %d phones, want the %d answered 201 (none answered 503):\ngot  %v\nwant %v",
			len(got), len(want), got, want)
	}

	if err := srv.stop(); err != nil {
		t.Error(err)
	}
}

// phoneIDs lists the person's phones (one page of 500, which must hold
// them all) and returns their ids, sorted.
func phoneIDs(t *testing.T, c *client.ClientWithResponses, cid, pid uuid.UUID) []string {
	t.Helper()
	r, err := c.ListPhonesWithResponse(context.Background(), cid, pid, &client.ListPhonesParams{PerPage: ptr(500)})
	wantStatus(t, "list phones", r, err, http.StatusOK)
	doc := r.ApplicationvndApiJSON200
	if doc.Meta.Pagination.TotalCount != len(doc.Data) {
		t.Fatalf("list phones: %d of %d on one page of 500", len(doc.Data), doc.Meta.Pagination.TotalCount)
	}
	ids := make([]string, len(doc.Data))
	for i, p := range doc.Data {
		ids[i] = p.Id
	}
	return sorted(ids)
}

// sorted returns a sorted copy of ids.
func sorted(ids []string) []string {
	s := slices.Clone(ids)
	slices.Sort(s)
	return s
}

// statusLine is resp's status line, or "no response".
func statusLine(resp *http.Response) string {
	if resp == nil {
		return "no response"
	}
	return resp.Status
}

// readyAnswer is an answer of GET /readyz.
type readyAnswer struct {
	status     int
	retryAfter string
	body       []byte
	doc        struct{ Status, Database string }
}

// getReadyz sends GET /readyz to the server at base.
func getReadyz(hc *http.Client, base string) (readyAnswer, error) {
	var r readyAnswer
	resp, err := hc.Get(base + "/readyz")
	if err != nil {
		return r, err
	}
	defer resp.Body.Close()
	r.status, r.retryAfter = resp.StatusCode, resp.Header.Get("Retry-After")
	if r.body, err = io.ReadAll(resp.Body); err != nil {
		return r, err
	}
	if err := json.Unmarshal(r.body, &r.doc); err != nil {
		return r, fmt.Errorf("readyz body %s: %w", r.body, err)
	}
	return r, nil
}

// wantNotReady requires GET /readyz to answer 503 with Retry-After and
// the database state want, within answerWithin.
func wantNotReady(t *testing.T, hc *http.Client, base, want string) {
	t.Helper()
	start := time.Now()
	r, err := getReadyz(hc, base)
	took := time.Since(start)
	if err != nil {
		t.Errorf("GET /readyz: %v", err)
		return
	}
	if r.status != http.StatusServiceUnavailable || r.doc.Status != "unavailable" || r.doc.Database != want {
		t.Errorf("GET /readyz: %d %s, want 503 with status \"unavailable\" and database %q", r.status, r.body, want)
	}
	if ra, err := strconv.Atoi(r.retryAfter); err != nil || ra < 1 {
		t.Errorf("GET /readyz: Retry-After %q, want whole seconds ≥ 1", r.retryAfter)
	}
	if took > answerWithin {
		t.Errorf("GET /readyz took %v, want at most %v", took, answerWithin)
	}
	t.Logf("GET /readyz: %d %s in %v", r.status, bytes.TrimSpace(r.body), took.Round(time.Millisecond))
}

// waitReadyz polls GET /readyz until it answers 200 with the database
// "ok", failing the test now when it does not within limit. It returns how
// long that took.
func waitReadyz(t *testing.T, hc *http.Client, base string, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	var last string
	for {
		r, err := getReadyz(hc, base)
		switch {
		case err != nil:
			last = err.Error()
		case r.status == http.StatusOK && r.doc.Status == "ok" && r.doc.Database == "ok":
			return time.Since(start)
		default:
			last = fmt.Sprintf("%d %s", r.status, r.body)
		}
		if time.Since(start) > limit {
			t.Fatalf("GET /readyz not 200 within %v of the database's return; last answer: %s", limit, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// mountTmpfs mounts a tmpfs of size (e.g. "8m") on a new temporary directory
// and returns it; a cleanup unmounts it. It skips the test when not root
// or when the mount fails, except under CI as root, where a failed mount
// fails it.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("not root: cannot mount the small tmpfs this test fills")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		skipUnlessCI(t, "mount a tmpfs on %s: %v (no privilege to mount, e.g. in a container?)", dir, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v; detaching it", dir, err)
			_ = syscall.Unmount(dir, syscall.MNT_DETACH)
		}
	})
	return dir
}

// fillDisk writes the file path until the file system is full (ENOSPC) and
// returns its size.
func fillDisk(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var size int64
	for _, chunk := range []int{1 << 20, 4 << 10, 512} {
		buf := make([]byte, chunk)
		for {
			n, err := f.Write(buf)
			size += int64(n)
			if errors.Is(err, syscall.ENOSPC) {
				break
			}
			if err != nil {
				t.Fatalf("fill %s: %v", path, err)
			}
		}
	}
	if err := f.Sync(); err != nil && !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("fill %s: %v", path, err)
	}
	return size
}

// cluster is a private PostgreSQL cluster of one test: its own data
// directory, loopback port and Unix socket (in the data directory), run as
// the postgres OS user when the test runs as root. newCluster creates
// and starts it; a cleanup stops it and removes its files.
type cluster struct {
	bin     string              // directory of initdb and pg_ctl
	dir     string              // holds data/ and the server log
	port    int                 // TCP port on 127.0.0.1
	cred    *syscall.Credential // the postgres user's; nil: the test's own
	running bool
}

// newCluster initializes and starts a private cluster with the newest
// PostgreSQL under /usr/lib/postgresql. It skips the test (fails it under
// CI) when there is none, or when the test runs as root and there is no
// postgres user to run it as.
func newCluster(t *testing.T) *cluster {
	t.Helper()
	bin := postgresBin()
	if bin == "" {
		skipUnlessCI(t, "no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/pg_ctl): cannot run a private cluster")
	}
	c := &cluster{bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			skipUnlessCI(t, "running as root and no postgres user to run PostgreSQL as (initdb and postgres refuse root): %v", err)
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err := errors.Join(err1, err2); err != nil {
			t.Fatalf("postgres user: %v", err)
		}
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	dir, err := os.MkdirTemp("", "phoneapi-outage-pg-")
	if err != nil {
		t.Fatal(err)
	}
	c.dir = dir
	t.Cleanup(func() {
		if c.running {
			if out, err := c.pgCtl("stop", "-m", "immediate"); err != nil {
				t.Errorf("stop the cluster: %v\n%s", err, out)
			}
		}
		if t.Failed() {
			if log, err := os.ReadFile(filepath.Join(c.dir, "server.log")); err == nil {
				t.Logf("PostgreSQL log:\n%s", log)
			}
		}
		if err := os.RemoveAll(c.dir); err != nil {
			t.Errorf("remove the cluster: %v", err)
		}
	})
	if c.cred != nil {
		if err := os.Chown(dir, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			t.Fatal(err)
		}
	}
	if c.port, err = freePort(); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	if out, err := c.command("initdb", "-D", data, "-A", "trust", "-U", "postgres",
		"-E", "UTF8", "--no-locale", "--no-sync").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	conf := fmt.Sprintf("\nport = %d\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\nfsync = off\n",
		c.port, data)
	f, err := os.OpenFile(filepath.Join(data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteString(conf)
	if err := errors.Join(err, f.Close()); err != nil {
		t.Fatal(err)
	}
	c.Start(t)
	return c
}

// URL is the cluster's postgres database.
func (c *cluster) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

// Start starts the cluster and waits until it accepts connections.
func (c *cluster) Start(t *testing.T) {
	t.Helper()
	if out, err := c.pgCtl("start", "-l", filepath.Join(c.dir, "server.log")); err != nil {
		t.Fatalf("start the cluster: %v\n%s", err, out)
	}
	c.running = true
}

// Stop stops the cluster (fast shutdown: sessions are ended) and waits
// until it has.
func (c *cluster) Stop(t *testing.T) {
	t.Helper()
	if out, err := c.pgCtl("stop", "-m", "fast"); err != nil {
		t.Fatalf("stop the cluster: %v\n%s", err, out)
	}
	c.running = false
}

// pgCtl runs pg_ctl action on the cluster, waiting up to 60 s.
func (c *cluster) pgCtl(action string, args ...string) ([]byte, error) {
	args = append([]string{action, "-D", filepath.Join(c.dir, "data"), "-w", "-t", "60"}, args...)
	return c.command("pg_ctl", args...).CombinedOutput()
}

// command is the PostgreSQL program name with args, run as the cluster's
// user in its directory, without the test's PG* environment variables.
func (c *cluster) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Dir = c.dir
	for _, kv := range cleanEnv() {
		if !strings.HasPrefix(kv, "PG") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	return cmd
}

// postgresBin returns the bin directory of the newest PostgreSQL under
// /usr/lib/postgresql, or "" when there is none.
func postgresBin() string {
	ctls, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	best, bestVersion := "", -1.0
	for _, ctl := range ctls {
		bin := filepath.Dir(ctl)
		v, err := strconv.ParseFloat(filepath.Base(filepath.Dir(bin)), 64)
		if err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(bin, "initdb")); err == nil && v > bestVersion {
			best, bestVersion = bin, v
		}
	}
	return best
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	addr, err := childproc.FreeAddr()
	if err != nil {
		return 0, err
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(port)
}
