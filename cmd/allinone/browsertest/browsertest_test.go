package browsertest

import (
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// strictCSP is as strict as the hosted pages' policy: no inline script,
// no eval, nothing from elsewhere.
const strictCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func site(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	page := func(w http.ResponseWriter, body string) {
		w.Header().Set("Content-Security-Policy", strictCSP)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Test page</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><script src="/app.js" defer></script></head>
<body><main><h1>Test page</h1>%s</main></body></html>`, body)
	}
	mux.HandleFunc("GET /app.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		// Progressive script: it counts what is typed in the name field.
		fmt.Fprint(w, `document.addEventListener('input', e => { const c = document.getElementById('count'); if (c) c.textContent = e.target.value.length + ' typed'; });`)
	})
	mux.HandleFunc("GET /form", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "s1", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
		page(w, `<form method="post" action="/form"><input type="hidden" name="csrf" value="t0ken">
<label for="name">Your name</label> <input id="name" name="name" autocomplete="name" required>
<p id="count" aria-live="polite">0 typed</p>
<label><input type="checkbox" name="remember"> Remember me</label>
<label for="lang">Language</label> <select id="lang" name="lang"><option value="en">English</option><option value="nl">Nederlands</option></select>
<button type="submit">Send</button></form>`)
	})
	mux.HandleFunc("POST /form", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		q := url.Values{"name": {r.PostForm.Get("name")}, "remember": {r.PostForm.Get("remember")}, "lang": {r.PostForm.Get("lang")}}
		http.Redirect(w, r, "/done?"+q.Encode(), http.StatusSeeOther)
	})
	mux.HandleFunc("GET /done", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		page(w, fmt.Sprintf(`<p>Hello %s (%s, %s)</p><p><a href="/form">Again</a></p>`, html.EscapeString(q.Get("name")), html.EscapeString(q.Get("remember")), html.EscapeString(q.Get("lang"))))
	})
	mux.HandleFunc("GET /twoforms", func(w http.ResponseWriter, r *http.Request) {
		page(w, `<form method="post" action="/form"><label for="a">Code</label> <input id="a" name="name"><button type="submit">Continue</button></form>
<form method="post" action="/form"><label for="b">Recovery code</label> <input id="b" name="name"><button type="submit">Continue</button></form>`)
	})
	mux.HandleFunc("GET /unlabelled", func(w http.ResponseWriter, r *http.Request) {
		page(w, `<form method="post" action="/form"><input name="name"><button type="submit">Send</button></form>`)
	})
	mux.HandleFunc("GET /inline", func(w http.ResponseWriter, r *http.Request) {
		page(w, `<p>An inline script the policy blocks.</p><script>document.title = 'ran';</script>`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// The harness on a page with a strict policy: labels find the fields,
// typing runs the page's own script, a button posts the form and the next
// page is screenshot, checked by axe-core and by the Check.
func TestPage_FillPressFollow_UnderStrictCSP(t *testing.T) {
	p := New(t)
	srv := site(t)
	var visits []Visit
	p.Check = func(t testing.TB, v Visit) { visits = append(visits, v) }

	v := p.Open(t, srv.URL+"/form")
	if v.Status != 200 || v.Title != "Test page" || v.Header["content-security-policy"] != strictCSP {
		t.Fatalf("visit %+v", v)
	}
	if len(v.Forms) != 1 || v.Forms[0].Method != "post" || v.Forms[0].Fields["csrf"] != "t0ken" {
		t.Fatalf("forms %+v, want one POST form with its hidden csrf field", v.Forms)
	}
	if _, err := os.Stat(v.Shot); err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	p.Fill(t, "Your name", "Anna & Co")
	p.Contains(t, "9 typed") // the page's script saw each key
	if got := p.Value(t, "Your name"); got != "Anna & Co" {
		t.Fatalf("field holds %q", got)
	}
	p.Tick(t, "Remember me", true)
	p.Choose(t, "Language", "Nederlands")
	v = p.Press(t, "Send")
	if !strings.HasSuffix(pathOf(v.URL), "/done?lang=nl&name=Anna+%26+Co&remember=on") {
		t.Fatalf("after the post: %s", v.URL)
	}
	p.Contains(t, "Hello Anna & Co (on, nl)")
	v = p.Follow(t, "Again")
	if pathOf(v.URL) != "/form" || len(visits) != 3 || visits[2].Previous != srv.URL+"/done?lang=nl&name=Anna+%26+Co&remember=on" {
		t.Fatalf("follow: %s, %d visits", v.URL, len(visits))
	}
	if c := p.Cookies(t); len(c) != 1 || c[0].Name != "session" || !c[0].HTTPOnly || c[0].SameSite != "Lax" || c[0].Secure {
		t.Fatalf("cookies %+v", c)
	}
	// Two forms with a "Continue" button: the one of the field typed into.
	p.Open(t, srv.URL+"/twoforms")
	p.Fill(t, "Recovery code", "abc-def")
	p.Press(t, "Continue")
	p.Contains(t, "Hello abc-def")
	if fits := p.Viewport(t, 320, 640); !fits {
		t.Fatal("the test page does not fit 320 px")
	}
}

// axe-core runs inside a page whose policy forbids every script but its
// own (evaluation through the DevTools protocol is not subject to it) and
// finds an input without a label: a critical violation, which is what
// fails a test.
func TestAxe_FindsAnUnlabelledField(t *testing.T) {
	if AxeJSPath() == "" {
		missing(t, "axe-core is not installed (make axe-core)")
	}
	p := New(t)
	srv := site(t)
	p.Open(t, srv.URL+"/form") // passes
	if err := p.eval(`location.href = '/unlabelled'`, nil); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		if !strings.HasSuffix(p.currentURL(t), "/unlabelled") {
			return fmt.Errorf("still on %s", p.currentURL(t))
		}
		return nil
	})
	vs, skipped := p.Violations(t)
	if skipped != "" {
		t.Fatalf("axe-core did not run: %s", skipped)
	}
	var found *Violation
	for i := range vs {
		if vs[i].ID == "label" {
			found = &vs[i]
		}
	}
	if found == nil || !found.Blocking() || len(found.Nodes) != 1 || !strings.Contains(found.Nodes[0].HTML, `name="name"`) {
		t.Fatalf("violations %v, want a blocking 'label' naming the input", vs)
	}
	t.Logf("what a failing test would say:\n%s", found)
}

// An inline script that the policy blocks is reported as an error.
func TestConsole_CSPViolationFails(t *testing.T) {
	p := New(t)
	srv := site(t)
	rec := &recorder{TB: t}
	p.Check = nil
	p.Open(t, srv.URL+"/form")
	if err := p.eval(`location.href = '/inline'`, nil); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		p.checkConsole(rec)
		if len(rec.errors) == 0 {
			return fmt.Errorf("no error reported yet")
		}
		return nil
	})
	if !strings.Contains(rec.errors[0], "Content Security Policy") {
		t.Fatalf("reported %q", rec.errors)
	}
	var title string
	p.Eval(t, `document.title`, &title)
	if title == "ran" {
		t.Fatal("the inline script ran")
	}
}

// recorder keeps the errors a check reports instead of failing the test.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recorder) Helper() {}

// currentURL is where the page is once it has loaded ("" while a
// navigation is under way: evaluating then may fail).
func (p *Page) currentURL(t testing.TB) string {
	var u string
	if p.eval(`document.readyState === 'complete' ? location.href : ''`, &u) != nil {
		return ""
	}
	return u
}
