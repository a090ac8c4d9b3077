package allinone_test

import (
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/testkit"
)

// A log-in from a device the account has not used before sets
// LoginSucceeded.new_device (credential), and the notification service
// mails the new-device notice, naming the device.
func TestMailbox_NewDeviceNoticeArrives(t *testing.T) {
	inst := start(t, false, testkit.NATS(t).URL, t.TempDir())
	op := client{t: t, base: inst.HTTPURL, token: inst.OperatorToken}
	code := tenantWithAdmin(t, op, map[string]any{"brandName": "Clienttrack"})
	anon := client{t: t, base: inst.HTTPURL}
	finishFirstLogin(t, anon, code)
	st, body := anon.do("POST", "/v1/auth/login", map[string]any{"tenant": code, "username": "admin",
		"password": "Much-Better-Pass-1", "deviceName": "Pixel 9 of Anna"})
	if st != 200 || body["accessToken"] == nil {
		t.Fatalf("log-in from a phone: %d %v", st, body)
	}
	to := "admin@" + code + ".example"
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, body := anon.do("GET", "/ui/mailbox/messages?to="+to, nil)
		for _, m := range items(body, "messages") {
			if text := m.(map[string]any)["text"].(string); strings.Contains(text, "new device") && strings.Contains(text, "Pixel 9 of Anna") {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no new-device notice for %s in the mailbox: %v", to, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
