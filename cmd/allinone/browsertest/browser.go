// Package browsertest drives Debian's headless Chromium (through chromedp
// and the DevTools protocol) for the browser tests of the hosted pages: one
// browser per test binary, a tab in a browser context of its own (own
// cookies) per test, a screenshot of every page visited, and axe-core run
// on every page, failing on a serious or critical violation.
//
// What it needs, and where it looks:
//
//	LATCHKEY_TEST_CHROMIUM        the browser; default /usr/bin/chromium, else chromium on PATH
//	                         (Debian: apt-get install chromium)
//	LATCHKEY_TEST_AXE_JS          axe-core's axe.min.js; default the newest
//	                         ~/.cache/latchkey/axe-core-v*/node_modules/axe-core/axe.min.js
//	                         (make axe-core installs it from npm)
//	LATCHKEY_TEST_SCREENSHOT_DIR  where screenshots are kept, a folder per test; default
//	                         the test's ArtifactDir (kept with go test -artifacts)
//
// Without a browser the tests skip, and without axe-core the axe checks
// skip, each with a message — except under CI (CI set), where either one
// missing fails the test, so CI cannot pass without running them.
//
// A test package that uses it has testkit.Main as its TestMain, which
// stops the browser after the tests.
package browsertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/latchkey/latchkey/libs/testkit"
)

// Window is the size of the browser window (CSS pixels).
const (
	WindowWidth  = 1280
	WindowHeight = 900
)

// ChromiumPath returns the browser to run, or "" when there is none.
func ChromiumPath() string {
	if p := os.Getenv("LATCHKEY_TEST_CHROMIUM"); p != "" {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	return ""
}

// inCI reports whether the tests run in CI, where nothing may be skipped
// for want of a tool.
func inCI() bool { return os.Getenv("CI") != "" }

// missing skips t (or, in CI, fails it) for want of what.
func missing(t testing.TB, what string) {
	t.Helper()
	if inCI() {
		t.Fatalf("%s (CI must have it: .ci/run installs it)", what)
	}
	t.Skipf("skipped: %s", what)
}

// shared is the one browser of the test binary.
var shared struct {
	once    sync.Once
	ctx     context.Context // the browser's first tab; tests open their own
	cancel  func()
	dir     string
	err     error
	took    time.Duration
	version string
}

// browser starts the shared browser the first time and returns its
// context.
func browser(t testing.TB) context.Context {
	t.Helper()
	path := ChromiumPath()
	if path == "" {
		missing(t, "no Chromium (apt-get install chromium, or set LATCHKEY_TEST_CHROMIUM)")
	}
	shared.once.Do(func() {
		began := time.Now()
		shared.dir, shared.err = os.MkdirTemp("", "latchkey-chromium-")
		if shared.err != nil {
			return
		}
		opts := []chromedp.ExecAllocatorOption{
			chromedp.ExecPath(path),
			chromedp.UserDataDir(shared.dir), // new and empty: no profile, no cache
			chromedp.Flag("disable-quic", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-domain-reliability", true),
			chromedp.DisableGPU,
			chromedp.WindowSize(WindowWidth, WindowHeight),
		}
		if os.Geteuid() == 0 {
			// Chromium refuses to run as root with its sandbox.
			opts = append(opts, chromedp.NoSandbox)
		}
		// The defaults already say headless, no-first-run,
		// disable-background-networking, disable-sync and the like.
		opts = append(chromedp.DefaultExecAllocatorOptions[:], opts...)
		allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancelCtx := chromedp.NewContext(allocCtx)
		shared.cancel = func() {
			cancelCtx()
			cancelAlloc()
			_ = os.RemoveAll(shared.dir)
		}
		start, cancelStart := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancelStart()
		errc := make(chan error, 1)
		go func() { errc <- chromedp.Do(ctx) }() // starts the browser
		select {
		case shared.err = <-errc:
		case <-start.Done():
			shared.err = errors.New("Chromium did not start within 60s")
		}
		if shared.err != nil {
			shared.cancel()
			shared.err = fmt.Errorf("starting %s: %w", path, shared.err)
			return
		}
		if v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`navigator.userAgent`)); err == nil {
			shared.version = v
		}
		shared.ctx = ctx
		shared.took = time.Since(began)
		testkit.AtExit(Close)
		t.Logf("browser: started %s in %v (%s)", path, shared.took.Round(time.Millisecond), shared.version)
	})
	if shared.err != nil {
		t.Fatalf("browser: %v", shared.err)
	}
	return shared.ctx
}

// Close stops the shared browser (testkit.Main calls it after the tests).
func Close() {
	if shared.cancel != nil {
		shared.cancel()
	}
}
