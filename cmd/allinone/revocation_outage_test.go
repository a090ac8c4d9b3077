package allinone_test

import (
	"io"
	"log/slog"
	"net/url"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/latchkey/latchkey/cmd/allinone"
	"github.com/latchkey/latchkey/libs/natsx/embedded"
)

// Revocation does not fail open: with NATS stopped, a session revoked by
// a password change is refused within a second or two (the services ask
// the credential service instead of trusting a list that cannot hear of
// it), while a live session keeps working.
func TestRevocation_NATSDown_RevokedSessionRefused_LiveOneServed(t *testing.T) {
	natsDir := t.TempDir()
	ns, err := embedded.Start(embedded.Options{Port: -1, StoreDir: natsDir})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { ns.Shutdown() }()
	u, _ := url.Parse(ns.ClientURL())
	port, _ := strconv.Atoi(u.Port())
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	inst := startWithConfig(t, false, allinone.Config{Edge: loopbackEdge, DataDir: filepath.Join(t.TempDir(), "data"),
		NATSURL: ns.ClientURL(), Logger: quiet})
	op := client{t: t, base: inst.HTTPURL, token: inst.OperatorToken}
	code := tenantWithAdmin(t, op, nil)
	anon := client{t: t, base: op.base}
	first := finishFirstLogin(t, anon, code)
	_, other := login(anon, code, "admin", "Much-Better-Pass-1")
	_, third := login(anon, code, "admin", "Much-Better-Pass-1")
	me := client{t: t, base: op.base, token: first["accessToken"].(string)}
	stolen := client{t: t, base: op.base, token: other["accessToken"].(string)}
	// unseen is revoked during the outage too, but first used after it.
	unseen := client{t: t, base: op.base, token: third["accessToken"].(string)}
	for _, c := range []client{me, stolen, unseen} {
		if st, body := c.do("GET", "/v1/me", nil); st != 200 {
			t.Fatalf("me before the outage: %d %v", st, body)
		}
	}

	ns.Shutdown()
	if st, body := me.do("POST", "/v1/me/password", map[string]any{"currentPassword": "Much-Better-Pass-1", "newPassword": "Another-Good-Pass-2"}); st != 200 {
		t.Fatalf("change password while NATS is down: %d %v", st, body)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		st, _ := stolen.do("GET", "/v1/me", nil)
		if st == 401 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the revoked session still answers %d on /v1/me 2s into the outage", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Not simply "refuse everything": the session that changed the
	// password goes on, on both services, for as long as the outage lasts.
	for range 3 {
		if st, body := me.do("GET", "/v1/me", nil); st != 200 {
			t.Fatalf("live session on /v1/me during the outage: %d %v", st, body)
		}
		if st, body := me.do("GET", "/v1/me/sessions", nil); st != 200 {
			t.Fatalf("live session on /v1/me/sessions during the outage: %d %v", st, body)
		}
		if st, _ := stolen.do("GET", "/v1/me/sessions", nil); st != 401 {
			t.Fatalf("revoked session on the credential service during the outage: %d, want 401", st)
		}
		time.Sleep(600 * time.Millisecond)
	}

	// NATS comes back. The revocations made meanwhile reach the stream
	// only when the credential service's outbox relays them: until then
	// the services keep asking, so a session first used now is refused
	// too, and every answer stays the same throughout.
	ns, err = embedded.Start(embedded.Options{Port: port, StoreDir: natsDir})
	if err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		for _, c := range []client{stolen, unseen} {
			if st, _ := c.do("GET", "/v1/me", nil); st != 401 {
				t.Fatalf("revoked session on /v1/me after NATS came back: %d, want 401", st)
			}
		}
		if st, body := me.do("GET", "/v1/me", nil); st != 200 {
			t.Fatalf("live session on /v1/me after NATS came back: %d %v", st, body)
		}
	}
}
