package gateway_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/latchkey/latchkey/gateway"
	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/grpcx"
	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/libs/inbox"
	"github.com/latchkey/latchkey/libs/outbox"
	"github.com/latchkey/latchkey/libs/testkit"
	"github.com/latchkey/latchkey/libs/tracing"
	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
)

var (
	spansOnce sync.Once
	spans     *tracetest.InMemoryExporter
)

// recordSpans turns tracing on for this test binary, into memory. The
// global provider can be set only once (instrumentation made before keeps
// its first delegate), so every test shares the exporter and picks its own
// trace out of it.
func recordSpans() *tracetest.InMemoryExporter {
	spansOnce.Do(func() {
		spans = tracetest.NewInMemoryExporter()
		tracing.Install(sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans)))
	})
	return spans
}

// spansOf returns the recorded spans of trace id.
func spansOf(exp *tracetest.InMemoryExporter, id trace.TraceID) tracetest.SpanStubs {
	var out tracetest.SpanStubs
	for _, s := range exp.GetSpans() {
		if s.SpanContext.TraceID() == id {
			out = append(out, s)
		}
	}
	return out
}

// find returns the one span of ss of kind whose name has the prefix.
func find(t *testing.T, ss tracetest.SpanStubs, kind trace.SpanKind, prefix string) tracetest.SpanStub {
	t.Helper()
	for _, s := range ss {
		if s.SpanKind == kind && strings.HasPrefix(s.Name, prefix) {
			return s
		}
	}
	var names []string
	for _, s := range ss {
		names = append(names, s.SpanKind.String()+" "+s.Name)
	}
	t.Fatalf("no %s span %q… in the trace; it has %v", kind, prefix, names)
	return tracetest.SpanStub{}
}

// eventBackend is an account service that, like the real ones, writes an
// event to its outbox in the transaction of the change.
type eventBackend struct {
	accountv1.UnimplementedTenantServiceServer
	db      dbx.DB
	box     *outbox.Outbox
	subject string
}

func (b *eventBackend) CreateTenant(ctx context.Context, req *accountv1.CreateTenantRequest) (*accountv1.CreateTenantResponse, error) {
	tenant := &accountv1.Tenant{Id: ids.New(), Code: req.GetCode(), Name: req.GetName()}
	err := b.db.InTx(ctx, func(tx dbx.Tx) error {
		return b.box.Write(ctx, tx, b.subject, ids.New(), tenant)
	})
	if err != nil {
		return nil, err
	}
	return &accountv1.CreateTenantResponse{Tenant: tenant}, nil
}

// TestTrace_RESTCallToGRPCHandlerToNATSConsumer_OneTrace follows one REST
// call: the gateway's server span, its gRPC call, the backend's server
// span (a grpcx server, as every service has) writing an event to the
// outbox, the relay publishing it later, and the inbox consumer handling
// it: one trace, each span the child of the one before.
func TestTrace_RESTCallToGRPCHandlerToNATSConsumer_OneTrace(t *testing.T) {
	exp := recordSpans()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	db := testkit.OpenMigrated(t, dbx.SQLite, "svc", func(ctx context.Context, db dbx.DB) error {
		if err := dbx.Migrate(ctx, db, "outbox", outbox.Migrations); err != nil {
			return err
		}
		return dbx.Migrate(ctx, db, "inbox", inbox.Migrations)
	})
	n := testkit.NATS(t)
	prefix := testkit.UniquePrefix(t)
	stream := testkit.StreamName(t, "TRACE")
	n.Stream(t, jetstream.StreamConfig{Name: stream, Subjects: []string{prefix + ".>"}})
	js := n.JetStream(t)
	box := outbox.New(db, clock.System{}, "svc")
	go func() { _ = box.NewRelay(js, outbox.RelayOptions{Poll: 50 * time.Millisecond}).Run(ctx) }()

	handled := make(chan trace.SpanContext, 1)
	go func() {
		_ = inbox.Run(ctx, js, db, inbox.Config{Stream: stream, Durable: testkit.StreamName(t, "consumer"), FilterSubject: prefix + ".>"},
			func(ctx context.Context, _ dbx.Tx, _ jetstream.Msg) error {
				handled <- trace.SpanContextFromContext(ctx)
				return nil
			})
	}()

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpcx.NewServer(grpcx.ServerOptions{})
	accountv1.RegisterTenantServiceServer(srv.GRPC(), &eventBackend{db: db, box: box, subject: prefix + ".tenant.created"})
	go func() { _ = srv.Serve(ctx, lis) }()
	g := startGateway(t, gateway.Config{Backends: allBackends(lis.Addr().String())}, false)

	code, body := do(t, "POST", g.httpURL+"/v1/tenants", `{"code":"acme","name":"Acme"}`, nil)
	if code != http.StatusOK {
		t.Fatalf("status %d, body %s", code, body)
	}
	var consumer trace.SpanContext
	select {
	case consumer = <-handled:
	case <-time.After(30 * time.Second):
		t.Fatal("the event never reached the consumer")
	}
	if !consumer.IsValid() {
		t.Fatal("the consumer's handler ran outside any span")
	}

	var ss tracetest.SpanStubs
	testkit.Eventually(t, 10*time.Second, func() error {
		// The consumer span ends after its handler returns, and the
		// producer span when the relay has JetStream's ack, which may come
		// after the consumer already has the message: wait for both.
		ss = spansOf(exp, consumer.TraceID())
		for _, kind := range []trace.SpanKind{trace.SpanKindConsumer, trace.SpanKindProducer} {
			if !slices.ContainsFunc(ss, func(s tracetest.SpanStub) bool { return s.SpanKind == kind }) {
				return errNotYet
			}
		}
		return nil
	})
	rest := find(t, ss, trace.SpanKindServer, "POST /v1/tenants")
	client := find(t, ss, trace.SpanKindClient, "latchkey.account.v1.TenantService/CreateTenant")
	server := find(t, ss, trace.SpanKindServer, "latchkey.account.v1.TenantService/CreateTenant")
	publish := find(t, ss, trace.SpanKindProducer, "publish "+prefix+".tenant.created")
	process := find(t, ss, trace.SpanKindConsumer, "process "+prefix+".tenant.created")
	if rest.Parent.IsValid() {
		t.Errorf("the REST span has parent %s, want a new trace (the client sent none)", rest.Parent.SpanID())
	}
	for _, link := range []struct {
		name          string
		child, parent tracetest.SpanStub
	}{
		{"gRPC client ← REST", client, rest},
		{"gRPC server ← gRPC client", server, client},
		{"outbox publish ← gRPC server", publish, server},
		{"consumer ← publish", process, publish},
	} {
		if link.child.Parent.SpanID() != link.parent.SpanContext.SpanID() {
			t.Errorf("%s: parent is %s, want %s", link.name, link.child.Parent.SpanID(), link.parent.SpanContext.SpanID())
		}
	}
	if consumer.SpanID() != process.SpanContext.SpanID() {
		t.Errorf("the handler ran in span %s, want the consumer span %s", consumer.SpanID(), process.SpanContext.SpanID())
	}
}

// TestTrace_GatewayContinuesClientTraceparent: a client that traces its
// own calls sends traceparent; the gateway's span is its child, and the
// backend receives the same trace.
func TestTrace_GatewayContinuesClientTraceparent(t *testing.T) {
	exp := recordSpans()
	b := startBackend(t)
	g := startGateway(t, gateway.Config{Backends: allBackends(b.addr)}, false)

	const traceID, clientSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	code, body := do(t, "POST", g.httpURL+"/v1/tenants", `{"code":"acme","name":"Acme"}`,
		http.Header{"Traceparent": {"00-" + traceID + "-" + clientSpan + "-01"}})
	if code != http.StatusOK {
		t.Fatalf("status %d, body %s", code, body)
	}
	id, _ := trace.TraceIDFromHex(traceID)
	var ss tracetest.SpanStubs
	testkit.Eventually(t, 10*time.Second, func() error {
		if ss = spansOf(exp, id); len(ss) < 2 { // the client call ends before the REST span
			return errNotYet
		}
		return nil
	})
	rest := find(t, ss, trace.SpanKindServer, "POST /v1/tenants")
	if got := rest.Parent.SpanID().String(); got != clientSpan || !rest.Parent.IsRemote() {
		t.Errorf("the gateway's span has parent %s (remote %v), want the client's %s", got, rest.Parent.IsRemote(), clientSpan)
	}
	got := b.last(t, "CreateTenant").Get("traceparent")
	if len(got) != 1 || !strings.HasPrefix(got[0], "00-"+traceID+"-") {
		t.Errorf("the backend got traceparent %q, want one in trace %s", got, traceID)
	}
}

// errNotYet is a span not recorded yet, for testkit.Eventually.
var errNotYet = errors.New("not recorded yet")

// TestTrace_SpanNamedAfterMuxPattern: a call outside the REST mux is named
// after the pattern that served it, never its path.
func TestTrace_SpanNamedAfterMuxPattern(t *testing.T) {
	exp := recordSpans()
	b := startBackend(t)
	g := startGateway(t, gateway.Config{Backends: allBackends(b.addr)}, false)
	const traceID = "5bf92f3577b34da6a3ce929d0e0e4736"
	if code, _ := do(t, "GET", g.httpURL+"/openapi.json", "", http.Header{"Traceparent": {"00-" + traceID + "-00f067aa0ba902b7-01"}}); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	id, _ := trace.TraceIDFromHex(traceID)
	var ss tracetest.SpanStubs
	testkit.Eventually(t, 10*time.Second, func() error {
		if ss = spansOf(exp, id); len(ss) == 0 {
			return errNotYet
		}
		return nil
	})
	find(t, ss, trace.SpanKindServer, "GET /openapi.json")
}
