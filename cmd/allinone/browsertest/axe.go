package browsertest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// AxeJSPath returns axe-core's axe.min.js, or "" when it is not installed:
// LATCHKEY_TEST_AXE_JS (make test sets it to the version the Makefile pins),
// else the newest version `make axe-core` put in ~/.cache/latchkey.
func AxeJSPath() string {
	if p := os.Getenv("LATCHKEY_TEST_AXE_JS"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "" // named but not installed
		}
		return p
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	found, _ := filepath.Glob(filepath.Join(home, ".cache", "latchkey", "axe-core-v*", "node_modules", "axe-core", "axe.min.js"))
	if len(found) == 0 {
		return ""
	}
	sort.Slice(found, func(i, j int) bool { return versionLess(found[i], found[j]) })
	return found[len(found)-1]
}

// versionLess orders paths …/axe-core-vX.Y.Z/… by version.
func versionLess(a, b string) bool {
	va, vb := versionOf(a), versionOf(b)
	for i := 0; i < len(va) && i < len(vb); i++ {
		if va[i] != vb[i] {
			return va[i] < vb[i]
		}
	}
	return len(va) < len(vb)
}

func versionOf(p string) []int {
	_, rest, _ := strings.Cut(p, "axe-core-v")
	rest, _, _ = strings.Cut(rest, string(filepath.Separator))
	var out []int
	for _, part := range strings.Split(rest, ".") {
		n := 0
		fmt.Sscanf(part, "%d", &n)
		out = append(out, n)
	}
	return out
}

var axeSource struct {
	once sync.Once
	path string
	js   string
	err  error
}

// axeJS reads axe.min.js once; "" when it is not installed.
func axeJS() (string, string, error) {
	axeSource.once.Do(func() {
		axeSource.path = AxeJSPath()
		if axeSource.path == "" {
			return
		}
		b, err := os.ReadFile(axeSource.path)
		axeSource.js, axeSource.err = string(b), err
	})
	return axeSource.js, axeSource.path, axeSource.err
}

// Violation is one rule axe-core found broken on a page.
type Violation struct {
	ID      string `json:"id"`
	Impact  string `json:"impact"` // minor, moderate, serious, critical
	Help    string `json:"help"`
	HelpURL string `json:"helpUrl"`
	Nodes   []struct {
		Target  []any  `json:"target"`
		HTML    string `json:"html"`
		Summary string `json:"summary"`
	} `json:"nodes"`
}

// Blocking reports whether the violation fails a test: serious or
// critical.
func (v Violation) Blocking() bool { return v.Impact == "serious" || v.Impact == "critical" }

func (v Violation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %s — %s", v.ID, v.Impact, v.Help, v.HelpURL)
	for _, n := range v.Nodes {
		fmt.Fprintf(&b, "\n    at %v: %s", n.Target, n.HTML)
		if n.Summary != "" {
			fmt.Fprintf(&b, "\n      %s", strings.ReplaceAll(n.Summary, "\n", "\n      "))
		}
	}
	return b.String()
}

// axeRun is what runs in the page: axe-core's own JavaScript injected
// through the DevTools protocol (which the page's Content-Security-Policy
// does not govern, so the page needs to allow nothing for it), then
// axe.run on the document, keeping only what a report needs.
const axeRun = `(async () => {
	const r = await axe.run(document, {resultTypes: ['violations']});
	return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
		nodes: v.nodes.map(n => ({target: n.target, html: n.html, summary: n.failureSummary}))}));
})()`

// Violations runs axe-core on the page as it is now and returns what it
// found, every impact; skipped says why it could not run ("" when it
// did): axe-core is not installed, or the page runs no script at all (a
// sandboxed document: axe-core needs timers).
func (p *Page) Violations(t testing.TB) (vs []Violation, skipped string) {
	t.Helper()
	js, path, err := axeJS()
	if err != nil {
		t.Fatalf("axe-core: reading %s: %v", path, err)
	}
	if js == "" {
		return nil, notInstalled
	}
	if p.scriptsOff {
		return nil, "scripts are off (ScriptsOff), so axe-core cannot run on the page"
	}
	if !p.timersRun() {
		return nil, "the page runs no script (sandboxed), so axe-core cannot run on it"
	}
	began := time.Now()
	var present bool
	p.Eval(t, `typeof window.axe === 'object'`, &present)
	if !present {
		p.Eval(t, js+"\n;true", nil)
	}
	p.Eval(t, axeRun, &vs)
	p.axeTime += time.Since(began)
	return vs, ""
}

const notInstalled = "axe-core is not installed (make axe-core, or set LATCHKEY_TEST_AXE_JS)"

// timersRun reports whether the page's timers fire: not in a document
// sandboxed without allow-scripts.
func (p *Page) timersRun() bool {
	ctx, cancel := context.WithTimeout(p.ctx, 2*time.Second)
	defer cancel()
	ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`new Promise(r => setTimeout(() => r(true), 0))`, chromedp.EvalAwaitPromise))
	return err == nil && ok
}

// Axe runs axe-core on the page and fails t on the first serious or
// critical violation, naming the rule and the elements; lesser ones are
// logged. Every page visited gets it; call it again after a change made
// without loading a page (an error shown by a script). Without axe-core it
// logs that once and does nothing (fails t in CI).
func (p *Page) Axe(t testing.TB) {
	t.Helper()
	vs, skipped := p.Violations(t)
	switch {
	case skipped == notInstalled && inCI():
		t.Fatalf("%s; CI must have it", skipped)
	case skipped == notInstalled:
		if !p.noAxeSaid {
			p.noAxeSaid = true
			t.Logf("%s: the accessibility checks are skipped", skipped)
		}
		return
	case skipped != "":
		t.Logf("axe-core on %s: skipped: %s", pathOf(p.url), skipped)
		return
	}
	for _, v := range vs {
		if !v.Blocking() {
			t.Logf("axe-core on %s (not failing: %s): %s", pathOf(p.url), v.Impact, v)
		}
	}
	for _, v := range vs {
		if v.Blocking() {
			t.Fatalf("axe-core on %s: %s", pathOf(p.url), v)
		}
	}
}
