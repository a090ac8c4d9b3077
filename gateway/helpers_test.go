package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/latchkey/latchkey/gateway"
	"github.com/latchkey/latchkey/libs/errs"
	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
	accountinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/account/v1"
	recoveryv1 "github.com/latchkey/latchkey/proto/gen/latchkey/recovery/v1"
)

// backend is a real gRPC server standing in for account (and, for
// readiness, every other service). It implements a few methods and records
// the metadata each call arrived with.
type backend struct {
	accountv1.UnimplementedTenantServiceServer
	accountv1.UnimplementedAccountAdminServiceServer
	accountinternalv1.UnimplementedAccountInternalServiceServer
	recoveryv1.UnimplementedRecoveryServiceServer

	addr   string
	health *health.Server // SERVING unless a test says otherwise

	mu         sync.Mutex
	calls      map[string][]metadata.MD // method name → metadata of each call
	lastUpdate *accountv1.UpdateAccountRequest
}

func startBackend(t *testing.T) *backend {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &backend{addr: lis.Addr().String(), health: health.NewServer(), calls: map[string][]metadata.MD{}}
	s := grpc.NewServer()
	accountv1.RegisterTenantServiceServer(s, b)
	accountv1.RegisterAccountAdminServiceServer(s, b)
	accountinternalv1.RegisterAccountInternalServiceServer(s, b)
	recoveryv1.RegisterRecoveryServiceServer(s, b)
	healthpb.RegisterHealthServer(s, b.health)
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	return b
}

func (b *backend) record(ctx context.Context, method string) {
	md, _ := metadata.FromIncomingContext(ctx)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls[method] = append(b.calls[method], md.Copy())
}

// last returns the metadata of the latest call of method, failing the test
// when there was none.
func (b *backend) last(t *testing.T, method string) metadata.MD {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	calls := b.calls[method]
	if len(calls) == 0 {
		t.Fatalf("backend never received %s", method)
	}
	return calls[len(calls)-1]
}

func (b *backend) count(method string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.calls[method])
}

func (b *backend) CreateTenant(ctx context.Context, req *accountv1.CreateTenantRequest) (*accountv1.CreateTenantResponse, error) {
	b.record(ctx, "CreateTenant")
	resp := &accountv1.CreateTenantResponse{Tenant: &accountv1.Tenant{
		Id: "t-1", Code: req.GetCode(), Name: req.GetName(),
		Policy: &accountv1.TenantPolicy{UsernameIsEmail: proto.Bool(true)},
	}}
	if fa := req.GetFirstAdmin(); fa != nil {
		resp.FirstAdmin = &accountv1.Account{
			Id: "a-1", Username: fa.GetUsername(), DisplayName: fa.GetDisplayName(),
			Roles:  []accountv1.Role_Value{accountv1.Role_ADMIN},
			Status: accountv1.AccountStatus_PENDING,
		}
	}
	return resp, nil
}

func (b *backend) ListTenants(ctx context.Context, req *accountv1.ListTenantsRequest) (*accountv1.ListTenantsResponse, error) {
	b.record(ctx, "ListTenants")
	if req.GetFilter() == "bad" {
		return nil, errs.Invalid(errs.Field("filter", "FILTER_INVALID", "not a filter"))
	}
	return &accountv1.ListTenantsResponse{Tenants: []*accountv1.Tenant{{Code: "acme"}}}, nil
}

func (b *backend) UpdateAccount(ctx context.Context, req *accountv1.UpdateAccountRequest) (*accountv1.UpdateAccountResponse, error) {
	b.record(ctx, "UpdateAccount")
	b.mu.Lock()
	b.lastUpdate = req
	b.mu.Unlock()
	return &accountv1.UpdateAccountResponse{Account: req.GetAccount()}, nil
}

func (b *backend) RequestPasswordReset(ctx context.Context, _ *recoveryv1.RequestPasswordResetRequest) (*recoveryv1.RequestPasswordResetResponse, error) {
	b.record(ctx, "RequestPasswordReset")
	return &recoveryv1.RequestPasswordResetResponse{}, nil
}

func (b *backend) ListAccounts(ctx context.Context, req *accountv1.ListAccountsRequest) (*accountv1.ListAccountsResponse, error) {
	b.record(ctx, "ListAccounts")
	return &accountv1.ListAccountsResponse{}, nil
}

func (b *backend) GetAccount(ctx context.Context, req *accountv1.GetAccountRequest) (*accountv1.GetAccountResponse, error) {
	b.record(ctx, "GetAccount")
	if req.GetId() == "missing" {
		return nil, errs.NotFound("ACCOUNT_NOT_FOUND", "no such account")
	}
	return &accountv1.GetAccountResponse{Account: &accountv1.Account{
		Id: req.GetId(), Status: accountv1.AccountStatus_LOCKED, LockReason: accountv1.LockReason_FAILED_ATTEMPTS,
	}}, nil
}

func (b *backend) ResolveLogin(ctx context.Context, req *accountinternalv1.ResolveLoginRequest) (*accountinternalv1.ResolveLoginResponse, error) {
	b.record(ctx, "ResolveLogin")
	return &accountinternalv1.ResolveLoginResponse{}, nil
}

// allBackends points every backend target at one server.
func allBackends(addr string) gateway.Backends {
	return gateway.Backends{Account: addr, Credential: addr, Recovery: addr, MFA: addr}
}

// running is a gateway serving on loopback.
type running struct {
	gw       *gateway.Gateway
	httpURL  string
	grpcAddr string // "" in same-port mode
	reg      *prometheus.Registry
}

// startGateway serves cfg on fresh loopback ports (one port when samePort)
// and stops it, checking Serve's result, when the test ends.
func startGateway(t *testing.T, cfg gateway.Config, samePort bool) *running {
	t.Helper()
	reg := prometheus.NewRegistry()
	if cfg.Registerer == nil {
		cfg.Registerer = reg
	}
	ctx, cancel := context.WithCancel(context.Background())
	gw, err := gateway.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	httpLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &running{gw: gw, httpURL: "http://" + httpLis.Addr().String(), reg: reg}
	var grpcLis net.Listener
	if !samePort {
		if grpcLis, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		r.grpcAddr = grpcLis.Addr().String()
	}
	done := make(chan error, 1)
	go func() { done <- gw.Serve(ctx, httpLis, grpcLis) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve = %v, want nil after cancel", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("Serve did not return after cancel")
		}
		if err := gw.Close(); err != nil {
			t.Errorf("Close = %v", err)
		}
	})
	return r
}

// do sends a REST request and returns the status and body.
func do(t *testing.T, method, url, body string, header http.Header) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", b, err)
	}
	return m
}

// dialGRPC is a plain client of the gateway's public gRPC endpoint.
func dialGRPC(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func callCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// deadAddr is a loopback address nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	if err := lis.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		t.Fatal(err)
	}
	return addr
}

func insecureCreds() credentials.TransportCredentials { return insecure.NewCredentials() }
