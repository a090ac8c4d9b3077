package grpcx_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/grpcx"
	"github.com/latchkey/latchkey/libs/testkit"
)

// testService answers UnaryCall and FullDuplexCall with whatever the test
// plugs in.
type testService struct {
	testpb.UnimplementedTestServiceServer
	unary  func(context.Context, *testpb.SimpleRequest) (*testpb.SimpleResponse, error)
	stream func(testpb.TestService_FullDuplexCallServer) error
}

func (s *testService) UnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	return s.unary(ctx, req)
}

func (s *testService) FullDuplexCall(st testpb.TestService_FullDuplexCallServer) error {
	return s.stream(st)
}

func ok(context.Context, *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	return &testpb.SimpleResponse{}, nil
}

type running struct {
	srv    *grpcx.Server
	addr   string
	logs   *testkit.LogBuffer
	stop   context.CancelFunc
	served chan error
}

// start runs a real server on 127.0.0.1:0 with svc registered and stops it
// when the test ends.
func start(t *testing.T, opts grpcx.ServerOptions, svc *testService) *running {
	t.Helper()
	logs := &testkit.LogBuffer{}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	srv := grpcx.NewServer(opts)
	if svc.unary == nil {
		svc.unary = ok
	}
	testpb.RegisterTestServiceServer(srv.GRPC(), svc)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{srv: srv, addr: lis.Addr().String(), logs: logs, stop: cancel, served: make(chan error, 1)}
	go func() { r.served <- srv.Serve(ctx, lis) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.served:
		case <-time.After(15 * time.Second):
			t.Error("server did not stop")
		}
	})
	return r
}

func dial(t *testing.T, addr string, opts grpcx.DialOptions) *grpc.ClientConn {
	t.Helper()
	conn, err := grpcx.Dial(addr, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func callCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestServer_HandlerErrorsReachClientSanitized(t *testing.T) {
	const secret = "password=hunter2"
	tests := []struct {
		name   string
		err    error
		code   codes.Code
		msg    string
		fields []string // field violations expected in BadRequest
		logged string   // must appear in the server log
	}{
		{"plain error hidden", errors.New("db " + secret), codes.Internal, "internal error", nil, "db " + secret},
		{"unknown status hidden", status.Error(codes.Unknown, secret), codes.Internal, "internal error", nil, secret},
		{"internal errs.Error hidden", &errs.Error{Message: "query " + secret}, codes.Internal, "internal error", nil, secret},
		{"unavailable cause hidden", errs.Unavailable("STORE_DOWN", "store unavailable", errors.New(secret)), codes.Unavailable, "store unavailable", nil, secret},
		{"wrapping text hidden", fmt.Errorf("loading %s: %w", secret, errs.NotFound("ACCOUNT_NOT_FOUND", "account not found")), codes.NotFound, "account not found", nil, secret},
		{"status passes", status.Error(codes.PermissionDenied, "admin role required"), codes.PermissionDenied, "admin role required", nil, ""},
		{"deadline keeps its code", fmt.Errorf("query: %w", context.DeadlineExceeded), codes.DeadlineExceeded, "context deadline exceeded", nil, ""},
		{
			"invalid with fields",
			errs.Invalid(errs.Field("code", "INVALID_FORMAT", "must be 2–32 characters"), errs.Field("firstAdmin.email", "REQUIRED", "required")),
			codes.InvalidArgument, "invalid argument: code: must be 2–32 characters; firstAdmin.email: required",
			[]string{"code/INVALID_FORMAT", "firstAdmin.email/REQUIRED"}, "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := start(t, grpcx.ServerOptions{}, &testService{
				unary: func(context.Context, *testpb.SimpleRequest) (*testpb.SimpleResponse, error) { return nil, tt.err },
			})
			// No retries: this is about what one answer carries.
			client := testpb.NewTestServiceClient(dial(t, r.addr, grpcx.DialOptions{ServiceConfig: "{}"}))

			_, err := client.UnaryCall(callCtx(t), &testpb.SimpleRequest{})
			st := status.Convert(err)
			if st.Code() != tt.code || st.Message() != tt.msg {
				t.Fatalf("got %v %q, want %v %q", st.Code(), st.Message(), tt.code, tt.msg)
			}
			if wire := fmt.Sprint(st.Proto()); strings.Contains(wire, "hunter2") {
				t.Errorf("client saw the secret: %s", wire)
			}
			var got []string
			for _, d := range st.Details() {
				if br, ok := d.(*errdetails.BadRequest); ok {
					for _, f := range br.GetFieldViolations() {
						got = append(got, f.GetField()+"/"+f.GetReason())
					}
				}
			}
			if !slices.Equal(got, tt.fields) {
				t.Errorf("field violations = %v, want %v", got, tt.fields)
			}
			if tt.logged != "" && !strings.Contains(r.logs.String(), tt.logged) {
				t.Errorf("log lacks %q:\n%s", tt.logged, r.logs)
			}
		})
	}
}

func TestServer_PanicBecomesInternalAndServerSurvives(t *testing.T) {
	var calls atomic.Int32
	r := start(t, grpcx.ServerOptions{}, &testService{
		unary: func(context.Context, *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
			if calls.Add(1) == 1 {
				panic("nil map in handler")
			}
			return &testpb.SimpleResponse{}, nil
		},
		stream: func(testpb.TestService_FullDuplexCallServer) error { panic("stream handler") },
	})
	client := testpb.NewTestServiceClient(dial(t, r.addr, grpcx.DialOptions{}))

	_, err := client.UnaryCall(callCtx(t), &testpb.SimpleRequest{})
	if st := status.Convert(err); st.Code() != codes.Internal || st.Message() != "internal error" {
		t.Fatalf("panicking call: %v %q, want Internal \"internal error\"", st.Code(), st.Message())
	}
	if _, err := client.UnaryCall(callCtx(t), &testpb.SimpleRequest{}); err != nil {
		t.Fatalf("call after panic: %v", err)
	}

	st, err := client.FullDuplexCall(callCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); status.Code(err) != codes.Internal {
		t.Fatalf("panicking stream: %v, want Internal", err)
	}

	logs := r.logs.String()
	for _, want := range []string{"grpc handler panicked", "nil map in handler", "stream handler", "server_test.go", `"grpc.code":"Internal"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

func TestServer_LogsOneLinePerCallWithoutBodies(t *testing.T) {
	r := start(t, grpcx.ServerOptions{}, &testService{})
	client := testpb.NewTestServiceClient(dial(t, r.addr, grpcx.DialOptions{}))
	body := []byte("hunter2-password")
	if _, err := client.UnaryCall(callCtx(t), &testpb.SimpleRequest{Payload: &testpb.Payload{Body: body}}); err != nil {
		t.Fatal(err)
	}
	logs := r.logs.String()
	for _, want := range []string{`"msg":"grpc call"`, `"grpc.method":"/grpc.testing.TestService/UnaryCall"`, `"grpc.code":"OK"`, `"duration_ms":`, `"peer.address":"127.0.0.1:`} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %s:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "hunter2") || strings.Contains(logs, base64.StdEncoding.EncodeToString(body)) {
		t.Errorf("log contains the request body:\n%s", logs)
	}
}

func TestServer_HealthServingThenNotServingOnShutdown(t *testing.T) {
	r := start(t, grpcx.ServerOptions{ShutdownTimeout: 10 * time.Second}, &testService{})
	r.srv.Health().SetServingStatus("grpc.testing.TestService", healthpb.HealthCheckResponse_SERVING)
	conn := dial(t, r.addr, grpcx.DialOptions{})
	health := healthpb.NewHealthClient(conn)

	for _, svc := range []string{"", "grpc.testing.TestService"} {
		resp, err := health.Check(callCtx(t), &healthpb.HealthCheckRequest{Service: svc})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("Check(%q) = %v, %v; want SERVING", svc, resp, err)
		}
	}
	watchCtx, stopWatch := context.WithCancel(callCtx(t))
	watch, err := health.Watch(watchCtx, &healthpb.HealthCheckRequest{Service: "grpc.testing.TestService"})
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := watch.Recv(); err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("first Watch = %v, %v", resp, err)
	}

	began := time.Now()
	r.stop()
	if resp, err := watch.Recv(); err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("Watch during shutdown = %v, %v; want NOT_SERVING", resp, err)
	}
	// A client that heeds NOT_SERVING leaves; the graceful stop then ends
	// without waiting for the timeout.
	stopWatch()
	select {
	case err := <-r.served:
		if err != nil {
			t.Fatalf("Serve = %v, want nil", err)
		}
		if d := time.Since(began); d > 5*time.Second {
			t.Errorf("graceful stop took %v", d)
		}
	case <-time.After(8 * time.Second):
		t.Fatal("Serve did not return")
	}
	r.served <- nil // for the cleanup
}

func TestServer_ShutdownTimeoutCutsOffStuckCalls(t *testing.T) {
	entered := make(chan struct{})
	r := start(t, grpcx.ServerOptions{ShutdownTimeout: 200 * time.Millisecond}, &testService{
		unary: func(ctx context.Context, _ *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
			close(entered)
			<-ctx.Done()
			return nil, ctx.Err()
		},
	})
	client := testpb.NewTestServiceClient(dial(t, r.addr, grpcx.DialOptions{}))
	callErr := make(chan error, 1)
	go func() {
		_, err := client.UnaryCall(context.Background(), &testpb.SimpleRequest{})
		callErr <- err
	}()
	<-entered
	began := time.Now()
	r.stop()
	select {
	case err := <-r.served:
		if err != nil {
			t.Fatalf("Serve = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after the shutdown timeout")
	}
	if d := time.Since(began); d < 200*time.Millisecond {
		t.Errorf("stopped after %v, before the timeout: graceful stop did not wait", d)
	}
	if err := <-callErr; err == nil {
		t.Error("stuck call succeeded")
	}
	r.served <- nil
}

func TestServer_ReflectionListsServices(t *testing.T) {
	r := start(t, grpcx.ServerOptions{}, &testService{})
	refl := reflectionpb.NewServerReflectionClient(dial(t, r.addr, grpcx.DialOptions{}))
	stream, err := refl.ServerReflectionInfo(callCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{},
	}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		got = append(got, s.GetName())
	}
	for _, want := range []string{"grpc.testing.TestService", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"} {
		if !slices.Contains(got, want) {
			t.Errorf("services = %v, missing %s", got, want)
		}
	}
}

func TestServer_MetricsTwoServersOneRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	fail := &testService{unary: func(context.Context, *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
		panic("boom")
	}}
	a := start(t, grpcx.ServerOptions{Registerer: reg}, &testService{})
	b := start(t, grpcx.ServerOptions{Registerer: reg}, fail) // must not panic on registration

	for _, addr := range []string{a.addr, a.addr, b.addr} {
		client := testpb.NewTestServiceClient(dial(t, addr, grpcx.DialOptions{Registerer: reg}))
		_, _ = client.UnaryCall(callCtx(t), &testpb.SimpleRequest{})
	}

	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	handled := func(name, code string) float64 {
		for _, f := range families {
			if f.GetName() != name {
				continue
			}
			for _, m := range f.GetMetric() {
				if label(m, "grpc_method") == "UnaryCall" && label(m, "grpc_code") == code {
					return m.GetCounter().GetValue()
				}
			}
		}
		return 0
	}
	tests := []struct {
		metric, code string
		want         float64
	}{
		{"grpc_server_handled_total", "OK", 2},
		{"grpc_server_handled_total", "Internal", 1}, // the panic, seen by metrics
		{"grpc_client_handled_total", "OK", 2},
		{"grpc_client_handled_total", "Internal", 1},
	}
	for _, tt := range tests {
		if got := handled(tt.metric, tt.code); got != tt.want {
			t.Errorf("%s{grpc_code=%q} = %v, want %v", tt.metric, tt.code, got, tt.want)
		}
	}
	if !slices.ContainsFunc(families, func(f *dto.MetricFamily) bool { return f.GetName() == "grpc_server_handling_seconds" }) {
		t.Error("no grpc_server_handling_seconds histogram")
	}
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// A call the client cancels is not the service's trouble: a handler that
// fails on the cancelled context with whatever error its driver makes of
// it (not context.Canceled) is logged as Canceled at info, not as an
// Internal error.
func TestServer_ClientCancelIsNotAnError(t *testing.T) {
	started := make(chan struct{})
	r := start(t, grpcx.ServerOptions{}, &testService{unary: func(ctx context.Context, _ *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
		close(started)
		<-ctx.Done()
		return nil, errors.New("conn closed: read tcp: use of closed network connection")
	}})
	client := testpb.NewTestServiceClient(dial(t, r.addr, grpcx.DialOptions{}))
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-started; cancel() }()
	if _, err := client.UnaryCall(ctx, &testpb.SimpleRequest{}); status.Code(err) != codes.Canceled {
		t.Fatalf("client: %v, want Canceled", err)
	}
	testkit.Eventually(t, 5*time.Second, func() error {
		if !strings.Contains(r.logs.String(), `"grpc.code":"Canceled"`) {
			return errors.New("no log line of the cancelled call yet")
		}
		return nil
	})
	if logs := r.logs.String(); strings.Contains(logs, `"level":"ERROR"`) || strings.Contains(logs, `"grpc.code":"Internal"`) {
		t.Fatalf("a client's cancel logged as the service's error:\n%s", logs)
	}
}

// The stream workers never make a call wait for one of them: 100 calls,
// far more than the pool on any test machine, are all inside their
// handlers at once (each waits there until every one has arrived).
func TestServer_CallsBeyondTheWorkersRunAtOnce(t *testing.T) {
	const calls = 100
	var arrived atomic.Int32
	all := make(chan struct{})
	r := start(t, grpcx.ServerOptions{}, &testService{unary: func(ctx context.Context, _ *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
		if arrived.Add(1) == calls {
			close(all)
		}
		select {
		case <-all:
			return &testpb.SimpleResponse{}, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}})
	client := testpb.NewTestServiceClient(dial(t, r.addr, grpcx.DialOptions{}))
	ctx := callCtx(t)
	errc := make(chan error, calls)
	for range calls {
		go func() {
			_, err := client.UnaryCall(ctx, &testpb.SimpleRequest{})
			errc <- err
		}()
	}
	for range calls {
		if err := <-errc; err != nil {
			t.Fatalf("a call failed (%d of %d arrived): %v", arrived.Load(), calls, err)
		}
	}
}
