package handlers

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromiumPath is where Debian's chromium package puts the browser
// (.ci/run installs it when it is missing).
const chromiumPath = "/usr/bin/chromium"

// screenshotPath is where TestDocsBrowser leaves its screenshot, relative to
// the package directory (ignored by git; a CI artifact).
const screenshotPath = "testdata/docs-browser.png"

// TestDocsBrowser opens /docs in headless Chromium and checks that Redoc
// rendered the Phones operations from the embedded spec, without any request
// to another host and without Content-Security-Policy violations. It skips
// when Chromium is missing, except under CI (CI set), where it fails.
func TestDocsBrowser(t *testing.T) {
	browser := chromiumPath
	if _, err := os.Stat(browser); err != nil {
		if p, lerr := exec.LookPath("chromium"); lerr == nil {
			browser = p
		} else if os.Getenv("CI") != "" {
			t.Fatalf("chromium not found at %s or on PATH, and CI is set: install it (apt-get install chromium)", chromiumPath)
		} else {
			t.Skipf("chromium not found at %s or on PATH: skipping the browser test (apt-get install chromium; under CI this fails)", chromiumPath)
		}
	}

	a := newAPI(t)
	srv := httptest.NewServer(a.e) // 127.0.0.1, a free port
	defer srv.Close()
	base, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("headless", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-pings", true),
		// A guard, not the check: should the page try another host, the
		// request fails here instead of leaving the machine (it is still
		// recorded below and fails the test).
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()

	var (
		mu       sync.Mutex
		requests []string // every URL the page asked for
		problems []string // console errors, uncaught exceptions, CSP violations
	)
	record := func(ev any) { // runs in the tab's message loop: fast, no commands
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			requests = append(requests, e.Request.URL)
		case *network.EventWebSocketCreated:
			requests = append(requests, e.URL)
		case *cdplog.EventEntryAdded:
			if e.Entry.Level == cdplog.EntryLevelError || strings.Contains(e.Entry.Text, "Content Security Policy") {
				problems = append(problems, fmt.Sprintf("log (%s): %s %s", e.Entry.Source, e.Entry.Text, e.Entry.URL))
			}
		case *runtime.EventExceptionThrown:
			d := e.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			problems = append(problems, "uncaught exception: "+msg)
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError {
				var args []string
				for _, arg := range e.Args {
					args = append(args, strings.TrimSpace(string(arg.Value)+" "+arg.Description))
				}
				problems = append(problems, "console.error: "+strings.Join(args, " "))
			}
		}
	}
	// The listener sees the tab's events from its start; chromedp enables the
	// Network, Log and Runtime domains when it attaches.
	bctx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf), chromedp.WithListener(record))
	defer cancelBrowser()

	const summary = "Update a phone" // putPhone's summary in openapi.yaml
	start := time.Now()
	var heading, text string
	var shot []byte
	err = chromedp.Do(bctx,
		chromedp.Navigate(srv.URL+"/docs#tag/Phones/operation/putPhone"),
		// Redoc has rendered once the operation's heading is in the page.
		chromedp.Poll[chromedp.Void](`[...document.querySelectorAll("h2")].some(h => h.textContent.trim() === `+jsString(summary)+`)`,
			chromedp.WithPollingTimeout(20*time.Second), chromedp.WithPollingInterval(100*time.Millisecond)),
	)
	if err == nil {
		heading, err = chromedp.Run(bctx, chromedp.TextContent(chromedp.CSS(`[data-section-id$="operation/putPhone"] h2`)))
	}
	if err == nil {
		text, err = chromedp.Run(bctx, chromedp.Text(chromedp.CSS("body")))
	}
	if err == nil {
		err = chromedp.Do(bctx, chromedp.Sleep(300*time.Millisecond)) // let the scroll to the anchor settle
	}
	if err == nil {
		shot, err = chromedp.Run(bctx, chromedp.CaptureScreenshot())
	}
	if err != nil {
		mu.Lock()
		t.Logf("requests so far: %q; problems: %q", short(requests), problems)
		mu.Unlock()
		t.Fatalf("browser: %v", err)
	}
	t.Logf("Redoc rendered in %v", time.Since(start).Round(time.Millisecond))

	if strings.TrimSpace(heading) != summary {
		t.Errorf("putPhone section heading = %q, want %q", heading, summary)
	}
	for _, want := range []string{summary, "updated_in_db_at", "Phones", "Create a phone"} {
		if !strings.Contains(text, want) {
			t.Errorf("rendered page lacks %q", want)
		}
	}

	if err := os.MkdirAll(filepath.Dir(screenshotPath), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(screenshotPath, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(screenshotPath)
	t.Logf("screenshot: %s (%d bytes)", abs, len(shot))

	mu.Lock()
	defer mu.Unlock()
	if len(requests) == 0 {
		t.Fatal("recorded no requests: the network listener is not working")
	}
	seen := map[string]bool{}
	for _, raw := range requests {
		u, err := url.Parse(raw)
		if err != nil {
			t.Errorf("request to unparsable URL %q", raw)
			continue
		}
		switch {
		case u.Scheme == "data": // inline, never on the network
		case u.Scheme == "blob" && strings.HasPrefix(raw, "blob:"+srv.URL+"/"): // made by the page (Redoc's search worker)
		case (u.Scheme == "http" || u.Scheme == "ws") && u.Host == base.Host:
			seen[u.Path] = true
		default:
			t.Errorf("request to another host: %s", raw)
		}
	}
	for _, p := range []string{"/docs", "/openapi.json", "/docs/redoc-" + redocVersion + ".standalone.js"} {
		if !seen[p] {
			t.Errorf("no request for %s was recorded (requests: %q)", p, short(requests))
		}
	}
	t.Logf("%d requests, none to another host: %q", len(requests), short(requests))
	for _, p := range problems {
		t.Errorf("browser reported: %s", p)
	}
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// short cuts long URLs (data: URLs) for the log.
func short(urls []string) []string {
	out := make([]string, len(urls))
	for i, u := range urls {
		if len(u) > 80 {
			u = u[:77] + "..."
		}
		out[i] = u
	}
	return out
}
