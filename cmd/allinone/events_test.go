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

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/latchkey/latchkey/cmd/allinone"
	"github.com/latchkey/latchkey/libs/natsx"
	"github.com/latchkey/latchkey/libs/natsx/embedded"
	"github.com/latchkey/latchkey/libs/outbox"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
)

// event is one message of the events stream, decoded.
type event struct {
	subject, id, tenantID string
}

// tenantEvents reads the whole events stream and returns the events of
// tenantID in stream order. Reading the stream, not a live subscription,
// counts exactly what every JetStream consumer would receive.
func tenantEvents(t *testing.T, natsURL, tenantID string) []event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nc, err := natsx.Connect(ctx, natsURL, "test-reader")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := natsx.NewJetStream(nc)
	cons, err := js.OrderedConsumer(ctx, natsx.EventsStreamName, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy})
	if err != nil {
		t.Fatal(err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []event
	for remaining := info.NumPending; remaining > 0; {
		batch, err := cons.Fetch(int(min(remaining, 500)), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for m := range batch.Messages() {
			got++
			mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(m.Headers().Get(outbox.HeaderEventType)))
			if err != nil {
				t.Fatalf("event type %q: %v", m.Headers().Get(outbox.HeaderEventType), err)
			}
			msg := mt.New().Interface()
			if err := proto.Unmarshal(m.Data(), msg); err != nil {
				t.Fatal(err)
			}
			metaField := msg.ProtoReflect().Descriptor().Fields().ByName("meta")
			meta := msg.ProtoReflect().Get(metaField).Message().Interface().(*eventsv1.EventMeta)
			if meta.GetEventId() != m.Headers().Get(jetstream.MsgIDHeader) {
				t.Fatalf("event id %s differs from its Nats-Msg-Id %s", meta.GetEventId(), m.Headers().Get(jetstream.MsgIDHeader))
			}
			if meta.GetTenantId() == tenantID {
				out = append(out, event{subject: m.Subject(), id: meta.GetEventId(), tenantID: meta.GetTenantId()})
			}
		}
		if got == 0 {
			t.Fatalf("stream read stalled with %d messages left", remaining)
		}
		remaining -= uint64(got)
	}
	return out
}

func waitEvents(t *testing.T, natsURL, tenantID string, want int) []event {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		evs := tenantEvents(t, natsURL, tenantID)
		if len(evs) >= want || time.Now().After(deadline) {
			return evs
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func countBySubject(evs []event) map[string]int {
	n := map[string]int{}
	seen := map[string]bool{}
	for _, e := range evs {
		n[e.subject]++
		if seen[e.id] {
			n["duplicate ids"]++
		}
		seen[e.id] = true
	}
	return n
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
		t.Fatalf("after create: %d events %v, want TenantCreated, AccountCreated, AccountInvited", len(evs), countBySubject(evs))
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

	evs := waitEvents(t, natsURL, tenantID, 5)
	time.Sleep(300 * time.Millisecond) // room for a wrong extra copy
	evs = tenantEvents(t, natsURL, tenantID)
	got := countBySubject(evs)
	want := map[string]int{
		"latchkey.events.v1.tenant.created":  1,
		"latchkey.events.v1.account.created": 2,
		"latchkey.events.v1.account.invited": 2,
	}
	if len(got) != len(want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	for s, n := range want {
		if got[s] != n {
			t.Fatalf("events %v, want %v", got, want)
		}
	}
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
