package allinone_test

import (
	"testing"

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
	waitForMail(t, anon, "admin@"+code+".example", "Clienttrack") // the notice, with the tenant's brand
}
