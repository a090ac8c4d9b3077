package allinone_test

import (
	"context"
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
	nats := newStoppableNATS(t)
	inst := startWithConfig(t, false, nats.config(t))
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

	nats.stop()
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
	nats.start()
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

// stoppableNATS is an embedded NATS server a test stops and starts again on
// the same port and store, as an outage does.
type stoppableNATS struct {
	t    *testing.T
	dir  string
	port int
	ns   *embedded.Server
}

func newStoppableNATS(t *testing.T) *stoppableNATS {
	t.Helper()
	n := &stoppableNATS{t: t, dir: t.TempDir(), port: -1}
	n.start()
	u, _ := url.Parse(n.ns.ClientURL())
	n.port, _ = strconv.Atoi(u.Port())
	t.Cleanup(func() { n.ns.Shutdown() })
	return n
}

// config is the suite's configuration on this server, quiet.
func (n *stoppableNATS) config(t *testing.T) allinone.Config {
	return allinone.Config{Edge: loopbackEdge, DataDir: filepath.Join(t.TempDir(), "data"),
		NATSURL: n.ns.ClientURL(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func (n *stoppableNATS) stop() { n.ns.Shutdown() }

func (n *stoppableNATS) start() {
	n.t.Helper()
	ns, err := embedded.Start(embedded.Options{Port: n.port, StoreDir: n.dir})
	if err != nil {
		n.t.Fatal(err)
	}
	n.ns = ns
}

// A signing key retired while NATS is down reaches no service through its
// event (it waits in the credential service's outbox): while their feeds
// are not current, the services trust only the keys published now, so its
// tokens are refused within a second or two on the account service and the
// credential service alike, and a token of the new key is served.
func TestKeysRotate_NATSDown_RetiredKeyRefusedAnyway(t *testing.T) {
	nats := newStoppableNATS(t)
	cfg := nats.config(t)
	inst := startWithConfig(t, false, cfg)
	op := client{t: t, base: inst.HTTPURL, token: inst.OperatorToken}
	anon := client{t: t, base: op.base}
	tokens := finishFirstLogin(t, anon, tenantWithAdmin(t, op, nil))
	leaked := client{t: t, base: op.base, token: tokens["accessToken"].(string)}
	for _, path := range []string{"/v1/me", "/v1/me/sessions"} {
		if st, body := leaked.do("GET", path, nil); st != 200 {
			t.Fatalf("GET %s before the outage: %d %v", path, st, body)
		}
	}

	nats.stop()
	r, err := allinone.RotateSigningKey(context.Background(), cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	if r.Published || len(r.Retired) != 1 {
		t.Fatalf("rotation %+v; want one key retired and its event not published", r)
	}
	for _, path := range []string{"/v1/me", "/v1/me/sessions"} {
		waitStatus(t, func() int { st, _ := leaked.do("GET", path, nil); return st }, 401)
	}
	st, body := anon.do("POST", "/v1/auth/token:refresh", map[string]any{"refreshToken": tokens["refreshToken"]})
	if st != 200 {
		t.Fatalf("refresh during the outage: %d %v", st, body)
	}
	fresh := client{t: t, base: op.base, token: body["accessToken"].(string)}
	for _, path := range []string{"/v1/me", "/v1/me/sessions"} {
		if st, body := fresh.do("GET", path, nil); st != 200 {
			t.Fatalf("GET %s with a token of the new key during the outage: %d %v", path, st, body)
		}
	}
}
