package allinone_test

import (
	"slices"
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
	waitForMail(t, anon, "admin@"+code+".example", "new device", "Pixel 9 of Anna")
}

// waitForMail waits until the built-in mailbox holds a message to to whose
// text contains every one of want.
func waitForMail(t *testing.T, anon client, to string, want ...string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, body := anon.do("GET", "/ui/mailbox/messages?to="+to, nil)
		for _, m := range items(body, "messages") {
			text := m.(map[string]any)["text"].(string)
			if !slices.ContainsFunc(want, func(w string) bool { return !strings.Contains(text, w) }) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no message to %s with %q in the mailbox: %v", to, want, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
