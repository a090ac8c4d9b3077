package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Visit is a page the browser loaded, as a Check sees it.
type Visit struct {
	N        int    // 1, 2, … in the order of the test's visits
	URL      string // where the browser ended up (after redirects)
	Status   int64
	Header   map[string]string // the response's headers, names in lower case
	Title    string
	Shot     string // the screenshot's file
	Forms    []Form
	Previous string // the URL before this visit ("" for the first)
}

// Form is a form of a visited page.
type Form struct {
	Method, Action string
	// Fields are the names of its controls (hidden ones too) with their
	// values for hidden ones, "" for the others.
	Fields map[string]string
}

// Page is one test's tab, in a browser context of its own (its own
// cookies and storage), in the test binary's shared browser.
type Page struct {
	ctx     context.Context
	cancel  func()
	dir     string
	timeout time.Duration
	// Label, when set, starts the names of the page's screenshots: for a
	// test with several tabs (two people), e.g. "office", "anna".
	Label string
	// Check, when set, is called on every page visited, after the
	// screenshot and axe: the hosted pages' tests use it for what every
	// page must have (security headers, a CSRF token in every form).
	Check func(t testing.TB, v Visit)

	mu         sync.Mutex
	console    []chromedp.ConsoleMessage
	seen       int // console messages already reported
	visits     int
	url        string
	axeTime    time.Duration
	began      time.Time
	noAxeSaid  bool
	scriptsOff bool
}

// New opens a tab for t in the shared browser (started on first use). It
// skips t when there is no browser (fails it in CI). The tab closes when t
// ends; if t failed, the page it was on is kept as a last screenshot.
func New(t *testing.T) *Page {
	t.Helper()
	parent := browser(t)
	ctx, cancel := chromedp.NewContext(parent, chromedp.WithNewBrowserContext())
	p := &Page{ctx: ctx, cancel: cancel, timeout: 30 * time.Second, began: time.Now()}
	// The first action opens the tab; it must not carry a timeout, which
	// would close the tab when it expires.
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		t.Fatalf("browser: new tab: %v", err)
	}
	p.dir = screenshotDir(t)
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			p.mu.Lock()
			p.console = append(p.console, m)
			p.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		if t.Failed() && p.url != "" {
			if file, err := p.screenshot("failed"); err == nil {
				t.Logf("browser: the page when the test failed (%s): %s", p.url, file)
			}
		}
		t.Logf("browser: %d pages in %v (axe-core %v of it); screenshots in %s",
			p.visits, time.Since(p.began).Round(time.Millisecond), p.axeTime.Round(time.Millisecond), p.dir)
		cancel()
	})
	return p
}

// screenshotDir is where t's screenshots go.
func screenshotDir(t *testing.T) string {
	if base := os.Getenv("LATCHKEY_TEST_SCREENSHOT_DIR"); base != "" {
		dir := filepath.Join(base, slug(t.Name()))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatalf("LATCHKEY_TEST_SCREENSHOT_DIR: %v", err)
		}
		// This run's pictures only: those of an earlier run go (once per
		// folder: a test's second tab keeps the first's).
		cleared.Lock()
		defer cleared.Unlock()
		if !cleared.dirs[dir] {
			cleared.dirs[dir] = true
			old, _ := filepath.Glob(filepath.Join(dir, "*.png"))
			for _, f := range old {
				_ = os.Remove(f)
			}
		}
		return dir
	}
	return t.ArtifactDir()
}

var cleared = struct {
	sync.Mutex
	dirs map[string]bool
}{dirs: map[string]bool{}}

var nonWord = regexp.MustCompile(`[^A-Za-z0-9]+`)

func slug(s string) string {
	s = strings.Trim(nonWord.ReplaceAllString(s, "-"), "-")
	if len(s) > 80 {
		s = s[:80]
	}
	if s == "" {
		s = "page"
	}
	return s
}

// run runs actions with the page's timeout.
func (p *Page) run(actions ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(p.ctx, p.timeout)
	defer cancel()
	return chromedp.Do(ctx, actions...)
}

// eval evaluates a JavaScript expression in the page and decodes its value
// (JSON) into out.
func (p *Page) eval(expr string, out any) error {
	ctx, cancel := context.WithTimeout(p.ctx, p.timeout)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(raw, out)
}

// Eval evaluates a JavaScript expression through the DevTools protocol
// (which the page's Content-Security-Policy does not govern) and decodes
// its value into out (nil: ignore it).
func (p *Page) Eval(t testing.TB, expr string, out any) {
	t.Helper()
	if err := p.eval(expr, out); err != nil {
		t.Fatalf("browser: evaluating %.60q: %v", expr, err)
	}
}

// Open loads url, then screenshots and checks the page (Visit).
func (p *Page) Open(t testing.TB, url string) Visit {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, p.timeout)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(url))
	if err != nil {
		t.Fatalf("browser: opening %s: %v", url, err)
	}
	return p.visited(t, resp, "")
}

// navigate runs a trigger that loads a new page (a click on a button or a
// link) and waits for it.
func (p *Page) navigate(t testing.TB, what string, trigger chromedp.Action[chromedp.Void]) Visit {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, p.timeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, trigger)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("browser: %s on %s loaded no page within %v (the browser refused the form? a field it found invalid?)%s",
				what, p.url, p.timeout, p.invalidFields())
		}
		t.Fatalf("browser: %s on %s: %v", what, p.url, err)
	}
	return p.visited(t, resp, what)
}

// invalidFields names the fields the browser's own validation refuses.
func (p *Page) invalidFields() string {
	var bad []string
	_ = p.eval(`[...document.querySelectorAll(':invalid')].filter(e => e.name).map(e => e.name + ': ' + e.validationMessage)`, &bad)
	if len(bad) == 0 {
		return ""
	}
	return "; invalid: " + strings.Join(bad, "; ")
}

// visited takes the screenshot, runs axe-core and the Check on the page
// the browser is now on.
func (p *Page) visited(t testing.TB, resp *network.Response, what string) Visit {
	t.Helper()
	p.visits++
	v := Visit{N: p.visits, Previous: p.url, Header: map[string]string{}}
	if resp != nil {
		v.Status = resp.Status
		for k, val := range resp.Headers {
			v.Header[strings.ToLower(k)] = fmt.Sprint(val)
		}
	}
	var info struct {
		URL   string `json:"url"`
		Title string `json:"title"`
		Forms []Form `json:"forms"`
	}
	p.Eval(t, `({url: location.href, title: document.title, forms: [...document.forms].map(f => ({
		Method: (f.getAttribute('method') || 'get').toLowerCase(), Action: f.getAttribute('action') || '',
		Fields: Object.fromEntries([...f.elements].filter(e => e.name).map(e => [e.name, e.type === 'hidden' ? e.value : '']))}))})`, &info)
	v.URL, v.Title, v.Forms = info.URL, info.Title, info.Forms
	p.url = v.URL
	path, _, _ := strings.Cut(pathOf(v.URL), "?")
	name := slug(path)
	file, err := p.screenshot(name)
	if err != nil {
		t.Fatalf("browser: screenshot of %s: %v", v.URL, err)
	}
	v.Shot = file
	if what != "" {
		what = " after " + what
	}
	t.Logf("browser: %spage %d%s: %s %d %q → %s", p.labelled(), v.N, what, pathOf(v.URL), v.Status, v.Title, filepath.Base(file))
	p.checkConsole(t)
	p.Axe(t)
	if p.Check != nil {
		p.Check(t, v)
	}
	return v
}

func pathOf(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
		if j := strings.Index(u, "/"); j >= 0 {
			return u[j:]
		}
		return "/"
	}
	return u
}

// screenshot writes a PNG of the whole page as NN-name.png.
func (p *Page) screenshot(name string) (string, error) {
	ctx, cancel := context.WithTimeout(p.ctx, p.timeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return "", err
	}
	base := fmt.Sprintf("%02d-%s.png", p.visits, strings.TrimPrefix(name, "ui-"))
	if p.Label != "" {
		base = slug(p.Label) + "-" + base
	}
	file := filepath.Join(p.dir, base)
	return file, os.WriteFile(file, png, 0o644)
}

// Screenshot writes a PNG of the page as it is now to file (a README
// picture, say), creating its folder.
func (p *Page) Screenshot(t testing.TB, file string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, p.timeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err == nil {
		if err = os.MkdirAll(filepath.Dir(file), 0o755); err == nil {
			err = os.WriteFile(file, png, 0o644)
		}
	}
	if err != nil {
		t.Fatalf("browser: screenshot to %s: %v", file, err)
	}
	t.Logf("browser: screenshot of %s → %s", pathOf(p.url), file)
}

// checkConsole fails t on what the page wrote to the console since the
// last look that says a page is broken: a script error, or something the
// Content-Security-Policy blocked (the pages must need nothing it
// forbids). Other messages are logged.
func (p *Page) checkConsole(t testing.TB) {
	t.Helper()
	// Console messages arrive asynchronously; a round trip to the page
	// lets those of the load come in.
	_ = p.eval(`1`, nil)
	p.mu.Lock()
	msgs := p.console[p.seen:]
	p.seen = len(p.console)
	p.mu.Unlock()
	for _, m := range msgs {
		switch {
		case m.IsException(), strings.Contains(m.Text, "Content Security Policy"), strings.Contains(m.Text, "Content-Security-Policy"):
			t.Errorf("browser: %s: %s (%s:%d)", pathOf(p.url), m, m.URL, m.Line)
		default:
			t.Logf("browser: console of %s: %s %s", pathOf(p.url), m, pathOf(m.URL))
		}
	}
}

func (p *Page) labelled() string {
	if p.Label == "" {
		return ""
	}
	return p.Label + "'s "
}

// URL is where the browser is.
func (p *Page) URL() string { return p.url }

// Text is the page's visible text.
func (p *Page) Text(t testing.TB) string {
	t.Helper()
	var s string
	p.Eval(t, `document.body.innerText`, &s)
	return s
}

// Contains fails t unless the page's visible text contains each of want.
func (p *Page) Contains(t testing.TB, want ...string) {
	t.Helper()
	text := p.Text(t)
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Fatalf("page %s does not say %q; it says:\n%s", pathOf(p.url), w, text)
		}
	}
}

// mark finds one element with a JavaScript function of (arg) that returns
// {el} or {error}, marks it, and returns a CSS selector for it.
func (p *Page) mark(t testing.TB, fn string, arg string) string {
	t.Helper()
	a, _ := json.Marshal(arg)
	var res struct {
		Sel   string `json:"sel"`
		Error string `json:"error"`
	}
	p.Eval(t, `(() => {
		const norm = s => (s || '').replace(/\s+/g, ' ').trim();
		const r = (`+fn+`)(`+string(a)+`, norm);
		if (r.error) return r;
		window.__lkMark = (window.__lkMark || 0) + 1;
		r.el.setAttribute('data-lk-mark', String(window.__lkMark));
		return {sel: '[data-lk-mark="' + window.__lkMark + '"]'};
	})()`, &res)
	if res.Error != "" {
		t.Fatalf("page %s: %s", pathOf(p.url), res.Error)
	}
	return res.Sel
}

// field finds the control of the label whose text is label (or, when no
// label is exactly that, the one label that starts with it). "Section ›
// Label" looks only in the section (or fieldset) whose heading (or
// legend) is Section, for a page with two fields of one name.
func (p *Page) field(t testing.TB, label string) string {
	t.Helper()
	return p.mark(t, `(label, norm) => {
		let scope = document;
		const i = label.indexOf(' › ');
		if (i >= 0) {
			const name = label.slice(0, i);
			label = label.slice(i + 3);
			scope = [...document.querySelectorAll('section, fieldset')].find(s => {
				const h = s.querySelector('h2, h3, legend');
				return h && norm(h.textContent) === name;
			});
			if (!scope) return {error: 'no section ' + JSON.stringify(name)};
		}
		const all = [...scope.querySelectorAll('label')];
		let ls = all.filter(l => norm(l.textContent) === label);
		if (ls.length === 0) ls = all.filter(l => norm(l.textContent).startsWith(label));
		if (ls.length !== 1) return {error: (ls.length ? 'several labels ' : 'no label ') + JSON.stringify(label) +
			'; the labels are ' + JSON.stringify(all.map(l => norm(l.textContent)))};
		if (!ls[0].control) return {error: 'label ' + JSON.stringify(label) + ' has no control'};
		return {el: ls[0].control};
	}`, label)
}

// Fill types value into the field labelled label (replacing what it had),
// key by key, as a person would (so scripts that watch typing see it);
// "Section › Label" for a label that several sections have.
func (p *Page) Fill(t testing.TB, label, value string) {
	t.Helper()
	sel := p.field(t, label)
	p.Eval(t, `document.querySelector('`+sel+`').value = ''`, nil)
	if err := p.run(chromedp.SendKeys(chromedp.CSS(sel), value)); err != nil {
		t.Fatalf("browser: typing into %q on %s: %v", label, pathOf(p.url), err)
	}
}

// Value is the value of the field labelled label.
func (p *Page) Value(t testing.TB, label string) string {
	t.Helper()
	sel := p.field(t, label)
	var v string
	p.Eval(t, `document.querySelector('`+sel+`').value`, &v)
	return v
}

// Tick sets the checkbox labelled label to on, by clicking it.
func (p *Page) Tick(t testing.TB, label string, on bool) {
	t.Helper()
	sel := p.field(t, label)
	var checked bool
	p.Eval(t, `document.querySelector('`+sel+`').checked`, &checked)
	if checked != on {
		if err := p.run(chromedp.Click(chromedp.CSS(sel))); err != nil {
			t.Fatalf("browser: clicking %q on %s: %v", label, pathOf(p.url), err)
		}
	}
}

// Choose picks the option whose text is option in the list labelled label,
// or the radio button labelled option in the group (fieldset) whose legend
// is label.
func (p *Page) Choose(t testing.TB, label, option string) {
	t.Helper()
	var isSelect bool
	sel := p.mark(t, `(label, norm) => {
		const all = [...document.querySelectorAll('label')];
		const l = all.find(l => norm(l.textContent) === label);
		if (l && l.control && l.control.tagName === 'SELECT') return {el: l.control};
		const fs = [...document.querySelectorAll('fieldset')].find(f => f.querySelector('legend') && norm(f.querySelector('legend').textContent) === label);
		if (fs) return {el: fs};
		return {error: 'no list or group ' + JSON.stringify(label)};
	}`, label)
	p.Eval(t, `document.querySelector('`+sel+`').tagName === 'SELECT'`, &isSelect)
	if isSelect {
		var ok bool
		a, _ := json.Marshal(option)
		p.Eval(t, `(() => { const s = document.querySelector('`+sel+`');
			const o = [...s.options].find(o => o.text.replace(/\s+/g, ' ').trim() === `+string(a)+`);
			if (!o) return false; s.value = o.value; s.dispatchEvent(new Event('change', {bubbles: true})); return true; })()`, &ok)
		if !ok {
			t.Fatalf("page %s: no option %q in %q", pathOf(p.url), option, label)
		}
		return
	}
	radio := p.mark(t, `(arg, norm) => {
		const [group, option] = JSON.parse(arg);
		const fs = document.querySelector(group);
		const l = [...fs.querySelectorAll('label')].find(l => norm(l.textContent) === option);
		if (!l || !l.control) return {error: 'no choice ' + JSON.stringify(option)};
		return {el: l.control};
	}`, mustJSON([]string{sel, option}))
	if err := p.run(chromedp.Click(chromedp.CSS(radio))); err != nil {
		t.Fatalf("browser: choosing %q on %s: %v", option, pathOf(p.url), err)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// Press clicks the button whose text (or accessible name) is name and
// waits for the page it loads. Where several forms have such a button, it
// is the one of the form last typed into.
func (p *Page) Press(t testing.TB, name string) Visit {
	t.Helper()
	sel := p.mark(t, `(name, norm) => {
		const all = [...document.querySelectorAll('button, input[type=submit], input[type=button]')];
		// The accessible name: aria-label where there is one.
		const text = b => norm(b.getAttribute('aria-label')) || norm(b.tagName === 'INPUT' ? b.value : b.textContent);
		let bs = all.filter(b => text(b) === name);
		// Several forms may have a button of that name: the one of the
		// form last typed into.
		const active = document.activeElement && document.activeElement.form;
		if (bs.length > 1 && active) bs = bs.filter(b => b.form === active);
		// Buttons that do the same (a sign-out in the header and on the
		// page) are one.
		if (bs.length > 1 && bs.every(b => b.form && b.form.action === bs[0].form.action && b.form.method === bs[0].form.method)) bs = bs.slice(0, 1);
		if (bs.length !== 1) return {error: (bs.length ? 'several buttons ' : 'no button ') + JSON.stringify(name) +
			'; the buttons are ' + JSON.stringify(all.map(text))};
		return {el: bs[0]};
	}`, name)
	return p.navigate(t, fmt.Sprintf("pressing %q", name), chromedp.Click(chromedp.CSS(sel)))
}

// Follow clicks the link whose text is name and waits for the page it
// loads.
func (p *Page) Follow(t testing.TB, name string) Visit {
	t.Helper()
	sel := p.mark(t, `(name, norm) => {
		const all = [...document.querySelectorAll('a[href]')];
		let ls = all.filter(a => norm(a.textContent) === name);
		if (ls.length === 0) ls = all.filter(a => norm(a.textContent).startsWith(name));
		if (ls.length === 0) return {error: 'no link ' + JSON.stringify(name) + '; the links are ' + JSON.stringify(all.map(a => norm(a.textContent)))};
		return {el: ls[0]};
	}`, name)
	return p.navigate(t, fmt.Sprintf("following %q", name), chromedp.Click(chromedp.CSS(sel)))
}

// Viewport sets the page's width and height (CSS pixels) and reports
// whether the page still fits the width (no sideways scrolling).
func (p *Page) Viewport(t testing.TB, width, height int64) (fits bool) {
	t.Helper()
	if err := p.run(chromedp.EmulateViewport(width, height)); err != nil {
		t.Fatalf("browser: viewport %dx%d: %v", width, height, err)
	}
	p.Eval(t, `document.documentElement.scrollWidth <= window.innerWidth`, &fits)
	return fits
}

// Cookie is a cookie the browser holds for the page.
type Cookie struct {
	Name, Value, SameSite string
	HTTPOnly, Secure      bool
	Path                  string
}

// Cookies returns the cookies the browser would send to the page.
func (p *Page) Cookies(t testing.TB) []Cookie {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, p.timeout)
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{})
	if err != nil {
		t.Fatalf("browser: cookies: %v", err)
	}
	var out []Cookie
	for _, c := range res.Cookies {
		out = append(out, Cookie{Name: c.Name, Value: c.Value, SameSite: string(c.SameSite), HTTPOnly: c.HTTPOnly, Secure: c.Secure, Path: c.Path})
	}
	return out
}

// Focused is the element that has the keyboard focus, as a person would
// name it, and whether its focus can be seen (an outline or a box shadow).
type Focused struct {
	Name    string // a control's label, a link's or button's text
	Tag     string
	Visible bool
}

// Tab presses the Tab key (a real key event) and returns what has the
// focus then.
func (p *Page) Tab(t testing.TB) Focused {
	t.Helper()
	if err := p.run(chromedp.KeyEvent("\t")); err != nil {
		t.Fatalf("browser: Tab: %v", err)
	}
	var f Focused
	p.Eval(t, `(() => {
		const e = document.activeElement, norm = s => (s || '').replace(/\s+/g, ' ').trim();
		if (!e || e === document.body) return {Name: '', Tag: 'BODY', Visible: false};
		const name = norm(e.getAttribute('aria-label')) || (e.labels && e.labels.length ? norm(e.labels[0].textContent) : '') ||
			norm(e.tagName === 'INPUT' ? e.value : e.textContent);
		const cs = getComputedStyle(e);
		const visible = (cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0) || (cs.boxShadow && cs.boxShadow !== 'none');
		return {Name: name, Tag: e.tagName, Visible: visible};
	})()`, &f)
	return f
}

// ScriptsOff turns the page's scripts off (on) for what it loads next:
// the pages must work without JavaScript. axe-core cannot run then, and
// its checks skip.
func (p *Page) ScriptsOff(t testing.TB, off bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, p.timeout)
	defer cancel()
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: off}); err != nil {
		t.Fatalf("browser: scripts off: %v", err)
	}
	p.scriptsOff = off
}

// Upload chooses file for the file field labelled label.
func (p *Page) Upload(t testing.TB, label, file string) {
	t.Helper()
	sel := p.field(t, label)
	if err := p.run(chromedp.SetUploadFiles(chromedp.CSS(sel), []string{file})); err != nil {
		t.Fatalf("browser: choosing %s for %q: %v", file, label, err)
	}
}
