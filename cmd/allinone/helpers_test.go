package allinone_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/latchkey/latchkey/cmd/allinone"
	"github.com/latchkey/latchkey/gateway"
	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/natsx"
	"github.com/latchkey/latchkey/libs/testkit"
	accountinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/account/v1"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// start runs the whole suite in-process for t, on PostgreSQL or SQLite, with
// t's NATS, and stops it when t ends.
func start(t testing.TB, postgres bool, natsURL string, dataDir string) *allinone.Instance {
	t.Helper()
	return startWithClock(t, postgres, natsURL, dataDir, nil)
}

func waitReady(t testing.TB, inst *allinone.Instance) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(inst.HTTPURL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready after 20s (last: %v)", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// client calls the REST API as one caller.
type client struct {
	t      testing.TB
	base   string
	token  string
	tenant string // Latchkey-Tenant header, for operators acting in a tenant
	// idempotencyKey is the Idempotency-Key header, for retried creates.
	idempotencyKey string
}

func (c client) asTenant(code string) client { c.tenant = code; return c }

func (c client) withIdempotencyKey(key string) client { c.idempotencyKey = key; return c }

// do sends body (a JSON string, or nil) and decodes the answer into a map.
func (c client) do(method, path string, body any) (int, map[string]any) {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	default:
		js, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.tenant != "" {
		req.Header.Set("Latchkey-Tenant", c.tenant)
	}
	if c.idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", c.idempotencyKey)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			c.t.Fatalf("%s %s: answer is not JSON: %s", method, path, raw)
		}
	}
	return resp.StatusCode, out
}

// fieldViolations lists the fields a REST error names.
func fieldViolations(body map[string]any) []string {
	var fields []string
	details, _ := body["details"].([]any)
	for _, d := range details {
		m, _ := d.(map[string]any)
		vs, _ := m["fieldViolations"].([]any)
		for _, v := range vs {
			if f, ok := v.(map[string]any)["field"].(string); ok {
				fields = append(fields, f)
			}
		}
	}
	return fields
}

func grpcConn(t testing.TB, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func withAuth(ctx context.Context, token, tenant string) context.Context {
	md := metadata.Pairs("authorization", "Bearer "+token)
	if tenant != "" {
		md.Append("latchkey-tenant", tenant)
	}
	return metadata.NewOutgoingContext(ctx, md)
}

// items returns the list under key; an empty list is left out of the JSON.
func items(body map[string]any, key string) []any {
	list, _ := body[key].([]any)
	return list
}

func timeSleep() { time.Sleep(20 * time.Millisecond) }

// startWithClock is start with the services' clock set to clk, for tests
// that move time forward instead of waiting.
func startWithClock(t testing.TB, postgres bool, natsURL, dataDir string, clk clock.Clock) *allinone.Instance {
	t.Helper()
	return startWithConfig(t, postgres, allinone.Config{
		Edge: loopbackEdge, DataDir: dataDir, NATSURL: natsURL, Clock: clk,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
}

// startWithConfig is start with cfg's settings (a small hash pool, say).
// Unless cfg names its own, the suite gets NATS names of t's (the same
// for every start in t, so a restarted suite finds its streams again):
// suites beside it on a shared NATS neither join its consumers nor see its
// events.
func startWithConfig(t testing.TB, postgres bool, cfg allinone.Config) *allinone.Instance {
	t.Helper()
	if postgres {
		cfg.PostgresURL = testkit.Postgres(t).URL
	}
	if cfg.NATSNames == (natsx.Names{}) && cfg.NATSURL != "" && cfg.NATSNKeyDir == "" {
		cfg.NATSNames = testNames(t, cfg.NATSURL)
	}
	inst, err := allinone.Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		if err := inst.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	waitReady(t, inst)
	return inst
}

// namesOfTests are the NATS names of each test that started a suite.
var namesOfTests sync.Map // testing.TB → natsx.Names

// testNames returns t's NATS names on the server at natsURL, made at t's
// first call.
func testNames(t testing.TB, natsURL string) natsx.Names {
	if n, ok := namesOfTests.Load(t); ok {
		return n.(natsx.Names)
	}
	n := (&testkit.NATSServer{URL: natsURL}).Names(t)
	namesOfTests.Store(t, n)
	t.Cleanup(func() { namesOfTests.Delete(t) })
	return n
}

// loopbackEdge serves REST and gRPC on one random loopback port.
var loopbackEdge = gateway.Config{HTTPAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0"}

// peerConn connects to the internal API of the service to, as the service
// as would: with a certificate of the instance's CA naming as.
func peerConn(t testing.TB, inst *allinone.Instance, as, to string) *grpc.ClientConn {
	t.Helper()
	id, err := inst.Identity(as)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(inst.Internal[to], grpc.WithTransportCredentials(credentials.NewTLS(id.ClientTLS(to))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// sweepInactive runs the account service's inactivity sweep now (as its
// timer does) and returns how many accounts it locked; a sweep already
// running (the one at start) is waited for.
func sweepInactive(t testing.TB, inst *allinone.Instance) int32 {
	t.Helper()
	internal := accountinternalv1.NewAccountInternalServiceClient(peerConn(t, inst, "account", "account"))
	for range 100 {
		resp, err := internal.SweepInactive(context.Background(), &accountinternalv1.SweepInactiveRequest{})
		if err != nil {
			t.Fatalf("sweep: %v", err)
		}
		if !resp.GetSkipped() {
			return resp.GetLockedCount()
		}
		timeSleep()
	}
	t.Fatal("sweep skipped for 2 seconds")
	return 0
}

// backendConn connects to the public API of the service to directly, as
// the gateway does.
func backendConn(t testing.TB, inst *allinone.Instance, to, addr string) *grpc.ClientConn {
	t.Helper()
	id, err := inst.Identity("gateway")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(id.ClientTLS(to))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}
