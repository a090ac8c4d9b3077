package allinone_test

import (
	"strings"
	"testing"

	"github.com/latchkey/latchkey/cmd/allinone/browsertest"
	"github.com/latchkey/latchkey/libs/testkit"
)

// The built-in mailbox in a real browser: the all-in-one without SMTP
// keeps an invitation, the page lists it with its activation link, and
// the page and the message's HTML part pass axe-core.
func TestBrowser_Mailbox(t *testing.T) {
	p := browsertest.New(t)
	inst := start(t, false, testkit.NATS(t).URL, t.TempDir())
	op := client{t: t, base: inst.HTTPURL, token: inst.OperatorToken}
	code := uniqueCode(t, "mb")
	st, body := op.do("POST", "/v1/tenants", map[string]any{"code": code, "name": "Mailbox " + code, "policy": map[string]any{"brandName": "Hometrak"},
		"firstAdmin": map[string]any{"username": "office", "email": "office@" + code + ".example", "displayName": "Office",
			"activation": "EMAIL_LINK"}})
	if st != 200 {
		t.Fatalf("create tenant: %d %v", st, body)
	}
	waitForMail(t, client{t: t, base: inst.HTTPURL}, "office@"+code+".example", "/ui/activate?token=")

	v := p.Open(t, inst.MailboxURL)
	if v.Status != 200 || v.Title != "Latchkey mailbox" {
		t.Fatalf("mailbox: %d %q", v.Status, v.Title)
	}
	p.Contains(t, "Activate your Hometrak account", "office@"+code+".example", code)
	// The mailbox is a page people read with the suite's own pages: not
	// even a moderate finding (a main landmark, headings in order).
	if vs, skipped := p.Violations(t); skipped == "" && len(vs) > 0 {
		for _, v := range vs {
			t.Errorf("axe-core on the mailbox: %s", v)
		}
	}
	var links []string
	p.Eval(t, `[...document.querySelectorAll('a[href*="/ui/activate?token="]')].map(a => a.href)`, &links)
	if len(links) != 1 || !strings.HasPrefix(links[0], inst.HTTPURL+"/ui/activate?token=") {
		t.Fatalf("activation links on the page: %v", links)
	}
	v = p.Follow(t, "HTML part")
	if !strings.HasSuffix(v.URL, ".html") || !strings.Contains(v.Header["content-security-policy"], "sandbox") {
		t.Fatalf("HTML part: %s, CSP %q", v.URL, v.Header["content-security-policy"])
	}
	p.Contains(t, code)
}
