package allinone_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/cmd/allinone"
	"github.com/latchkey/latchkey/libs/natsx/embedded"
	"github.com/latchkey/latchkey/libs/testkit"
)

// waitEvents waits for at least want events of tenantID and returns them.
func waitEvents(t *testing.T, natsURL, tenantID string, want int) []testkit.Event {
	t.Helper()
	return accountEvents(testkit.WaitEvents(t, natsURL, testkit.EventQuery{TenantID: tenantID},
		func(evs []testkit.Event) bool { return len(accountEvents(evs)) >= want }))
}

// accountEvents keeps the account service's events (tenant.*, account.*):
// those the outage test follows. The e-mail an invitation leads to
// (recovery's link, notification's delivery) has events of its own.
func accountEvents(evs []testkit.Event) []testkit.Event {
	var out []testkit.Event
	for _, e := range evs {
		if strings.HasPrefix(e.Subject, "latchkey.events.v1.tenant.") || strings.HasPrefix(e.Subject, "latchkey.events.v1.account.") {
			out = append(out, e)
		}
	}
	return out
}

// A subscriber sees each event exactly once, also when NATS is down while
// changes commit and the service is restarted before it comes back.
func TestEvents_ExactlyOnce_AcrossNATSOutageAndRestart(t *testing.T) {
	natsDir := t.TempDir()
	ns, err := embedded.Start(embedded.Options{Port: -1, StoreDir: natsDir})
	if err != nil {
		t.Fatal(err)
	}
	natsURL := ns.ClientURL()
	u, _ := url.Parse(natsURL)
	port, _ := strconv.Atoi(u.Port())
	dataDir := filepath.Join(t.TempDir(), "data")
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := allinone.Config{Edge: loopbackEdge, DataDir: dataDir, NATSURL: natsURL, Logger: quiet}

	inst, err := allinone.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	waitReady(t, inst)
	op := client{t: t, base: inst.HTTPURL, token: inst.OperatorToken}
	st, body := op.do("POST", "/v1/tenants", map[string]any{
		"code": "outage", "name": "Outage",
		"firstAdmin": map[string]any{"username": "admin", "email": "admin@outage.example", "displayName": "Admin"},
	})
	if st != 200 {
		t.Fatalf("create tenant: %d %v", st, body)
	}
	tenantID := body["tenant"].(map[string]any)["id"].(string)
	if evs := waitEvents(t, natsURL, tenantID, 3); len(evs) != 3 {
		t.Fatalf("after create: %d events %v, want TenantCreated, AccountCreated, AccountInvited", len(evs), testkit.CountBySubject(evs))
	}

	// NATS goes away; the change still commits, its events wait in the
	// outbox, and the service is stopped before NATS is back.
	ns.Shutdown()
	st, body = op.asTenant("outage").do("POST", "/v1/admin/accounts", map[string]any{
		"username": "during", "email": "during@outage.example", "displayName": "During", "roles": []string{"USER"},
	})
	if st != 200 {
		t.Fatalf("create account while NATS is down: %d %v", st, body)
	}
	if err := inst.Stop(); err != nil {
		t.Fatal(err)
	}

	ns, err = embedded.Start(embedded.Options{Port: port, StoreDir: natsDir})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Shutdown()
	inst, err = allinone.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Stop()
	waitReady(t, inst)

	want := map[string]int{
		"latchkey.events.v1.tenant.created":  1,
		"latchkey.events.v1.account.created": 2,
		"latchkey.events.v1.account.invited": 2,
	}
	waitEvents(t, natsURL, tenantID, 5)
	// A wrong extra copy would come after the ones awaited: look for a while.
	testkit.Consistently(t, 300*time.Millisecond, func() error {
		got := testkit.CountBySubject(accountEvents(testkit.ReadEvents(t, natsURL, testkit.EventQuery{TenantID: tenantID})))
		if !maps.Equal(got, want) {
			return fmt.Errorf("events %v, want %v", got, want)
		}
		return nil
	})
}

// Data written before a restart is there after it.
func TestRestart_KeepsData(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	natsDir := t.TempDir()
	run := func() (*allinone.Instance, *embedded.Server) {
		ns, err := embedded.Start(embedded.Options{Port: -1, StoreDir: natsDir})
		if err != nil {
			t.Fatal(err)
		}
		inst, err := allinone.Start(context.Background(), allinone.Config{
			Edge: loopbackEdge, DataDir: dataDir, NATSURL: ns.ClientURL(),
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		if err != nil {
			t.Fatal(err)
		}
		waitReady(t, inst)
		return inst, ns
	}
	inst, ns := run()
	token := inst.OperatorToken
	if !inst.OperatorTokenNew || inst.OperatorTokenPath != filepath.Join(dataDir, "operator-token") {
		t.Fatalf("first start: token new=%v at %q", inst.OperatorTokenNew, inst.OperatorTokenPath)
	}
	op := client{t: t, base: inst.HTTPURL, token: token}
	if st, body := op.do("POST", "/v1/tenants", map[string]any{"code": "kept", "name": "Kept"}); st != 200 {
		t.Fatalf("create: %d %v", st, body)
	}
	inst.Stop()
	ns.Shutdown()

	inst, ns = run()
	defer ns.Shutdown()
	defer inst.Stop()
	if inst.OperatorToken != token || inst.OperatorTokenNew {
		t.Fatal("the operator token changed across a restart")
	}
	op.base = inst.HTTPURL
	st, body := op.do("GET", "/v1/tenants?filter=kept", nil)
	if st != 200 || len(items(body, "tenants")) != 1 {
		t.Fatalf("after restart: %d %v", st, body)
	}
}
