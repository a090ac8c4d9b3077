package allinone_test

import (
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/testkit"
)

// The services together: a password change (credential) becomes an event,
// the notification service looks the account up (account) and sends the
// notice, which lands in the all-in-one's built-in mailbox.
func TestMailbox_PasswordChangedNoticeArrives(t *testing.T) {
	inst := start(t, false, testkit.NATS(t).URL, t.TempDir())
	if inst.MailboxURL == "" {
		t.Fatal("no mailbox without an SMTP server")
	}
	op := client{t: t, base: inst.HTTPURL, token: inst.OperatorToken}
	code := tenantWithAdmin(t, op, map[string]any{"brandName": "Clienttrack"})
	anon := client{t: t, base: inst.HTTPURL}
	me := client{t: t, base: inst.HTTPURL, token: finishFirstLogin(t, anon, code)["accessToken"].(string)}
	if st, body := me.do("POST", "/v1/me/password", map[string]any{"currentPassword": "Much-Better-Pass-1", "newPassword": "Another-Good-Pass-2"}); st != 200 {
		t.Fatalf("change password: %d %v", st, body)
	}
	to := "admin@" + code + ".example"
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, body := anon.do("GET", "/ui/mailbox/messages?to="+to, nil)
		for _, m := range items(body, "messages") {
			msg := m.(map[string]any)
			if strings.Contains(msg["text"].(string), "Clienttrack") {
				return // the notice, with the tenant's brand
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no password-changed notice for %s in the mailbox: %v", to, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
