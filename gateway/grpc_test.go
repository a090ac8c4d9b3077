package gateway_test

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	"github.com/latchkey/latchkey/gateway"
	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
	credentialv1 "github.com/latchkey/latchkey/proto/gen/latchkey/credential/v1"
	accountinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/account/v1"
	mfav1 "github.com/latchkey/latchkey/proto/gen/latchkey/mfa/v1"
	recoveryv1 "github.com/latchkey/latchkey/proto/gen/latchkey/recovery/v1"
)

func TestGRPC_PublicCallReachesBackend_MetadataFiltered(t *testing.T) {
	b := startBackend(t)
	g := startGateway(t, gateway.Config{Backends: allBackends(b.addr)}, false)
	client := accountv1.NewTenantServiceClient(dialGRPC(t, g.grpcAddr))

	ctx := metadata.AppendToOutgoingContext(callCtx(t),
		"authorization", "Bearer tok", "latchkey-tenant", "acme", "x-request-id", "req-2",
		"idempotency-key", "create-acme-1", "evil", "1", "x-forwarded-for", "203.0.113.9", "x-real-ip", "203.0.113.10")
	resp, err := client.CreateTenant(ctx, &accountv1.CreateTenantRequest{Code: "acme", Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetTenant().GetCode() != "acme" || !resp.GetTenant().GetPolicy().GetUsernameIsEmail() {
		t.Errorf("answer = %v, want the backend's tenant", resp)
	}
	md := b.last(t, "CreateTenant")
	for k, v := range map[string]string{
		"authorization": "Bearer tok", "latchkey-tenant": "acme", "x-request-id": "req-2",
		"idempotency-key": "create-acme-1", "x-forwarded-for": "127.0.0.1",
	} {
		if got := md.Get(k); !slices.Equal(got, []string{v}) {
			t.Errorf("metadata %s = %q, want [%s]", k, got, v)
		}
	}
	for _, k := range []string{"evil", "x-real-ip"} {
		if got := md.Get(k); len(got) != 0 {
			t.Errorf("metadata %s = %q reached the backend", k, got)
		}
	}
}

func TestGRPC_UserAgentForwarded(t *testing.T) {
	b := startBackend(t)
	g := startGateway(t, gateway.Config{Backends: allBackends(b.addr)}, false)
	conn, err := grpc.NewClient(g.grpcAddr, grpc.WithTransportCredentials(insecureCreds()), grpc.WithUserAgent("latchkey-cli/1"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := accountv1.NewTenantServiceClient(conn).ListTenants(callCtx(t), &accountv1.ListTenantsRequest{}); err != nil {
		t.Fatal(err)
	}
	ua := b.last(t, "ListTenants").Get("grpcgateway-user-agent")
	// grpc-go appends its own version to the application's agent.
	if len(ua) != 1 || !strings.HasPrefix(ua[0], "latchkey-cli/1 ") {
		t.Errorf("grpcgateway-user-agent = %q, want the client's agent", ua)
	}
}

func TestGRPC_TrustedProxyForwardedFor(t *testing.T) {
	b := startBackend(t)
	g := startGateway(t, gateway.Config{Backends: allBackends(b.addr), TrustedProxies: []string{"127.0.0.1"}}, false)
	client := accountv1.NewTenantServiceClient(dialGRPC(t, g.grpcAddr))
	ctx := metadata.AppendToOutgoingContext(callCtx(t), "x-forwarded-for", "203.0.113.9")
	if _, err := client.ListTenants(ctx, &accountv1.ListTenantsRequest{}); err != nil {
		t.Fatal(err)
	}
	if got := b.last(t, "ListTenants").Get("x-forwarded-for"); !slices.Equal(got, []string{"203.0.113.9"}) {
		t.Errorf("x-forwarded-for = %q, want [203.0.113.9]", got)
	}
}

func TestGRPC_BackendErrorsPassThrough(t *testing.T) {
	b := startBackend(t)
	g := startGateway(t, gateway.Config{Backends: allBackends(b.addr)}, false)
	conn := dialGRPC(t, g.grpcAddr)

	_, err := accountv1.NewAccountAdminServiceClient(conn).GetAccount(callCtx(t), &accountv1.GetAccountRequest{Id: "missing"})
	if st := status.Convert(err); st.Code() != codes.NotFound || len(st.Details()) == 0 {
		t.Errorf("GetAccount(missing) = %v with %d details, want NotFound with ErrorInfo", err, len(st.Details()))
	}
	_, err = accountv1.NewTenantServiceClient(conn).UpdateTenant(callCtx(t), &accountv1.UpdateTenantRequest{Code: "acme"})
	if status.Code(err) != codes.Unimplemented {
		t.Errorf("UpdateTenant = %v, want Unimplemented from the backend", err)
	}
}

func TestGRPC_InternalServiceRefused(t *testing.T) {
	b := startBackend(t)
	g := startGateway(t, gateway.Config{Backends: allBackends(b.addr)}, false)

	// The backend does serve it, so a refusal below is the gateway's.
	if _, err := accountinternalv1.NewAccountInternalServiceClient(dialGRPC(t, b.addr)).ResolveLogin(callCtx(t), &accountinternalv1.ResolveLoginRequest{}); err != nil {
		t.Fatalf("backend ResolveLogin = %v", err)
	}
	before := b.count("ResolveLogin")

	conn := dialGRPC(t, g.grpcAddr)
	_, err := accountinternalv1.NewAccountInternalServiceClient(conn).ResolveLogin(callCtx(t), &accountinternalv1.ResolveLoginRequest{TenantCode: "acme"})
	if status.Code(err) != codes.Unimplemented {
		t.Errorf("ResolveLogin via gateway = %v, want Unimplemented", err)
	}
	for _, method := range []string{"/latchkey.account.v1.Nope/X", "/other.v1.Service/Call", "/latchkey.account.v1.AccountInternalService/ResolveLogin", "/latchkey.internalapi.account.v1.AccountInternalService"} {
		err := conn.Invoke(callCtx(t), method, &accountinternalv1.ResolveLoginRequest{}, &accountinternalv1.ResolveLoginResponse{})
		if status.Code(err) != codes.Unimplemented {
			t.Errorf("%s = %v, want Unimplemented", method, err)
		}
	}
	if got := b.count("ResolveLogin"); got != before {
		t.Errorf("backend saw %d ResolveLogin calls through the gateway, want 0", got-before)
	}
}

func TestGRPC_ReflectionListsPublicServicesOnly(t *testing.T) {
	b := startBackend(t)
	g := startGateway(t, gateway.Config{Backends: allBackends(b.addr)}, false)
	stream, err := reflectionv1.NewServerReflectionClient(dialGRPC(t, g.grpcAddr)).ServerReflectionInfo(callCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	ask := func(req *reflectionv1.ServerReflectionRequest) *reflectionv1.ServerReflectionResponse {
		t.Helper()
		if err := stream.Send(req); err != nil {
			t.Fatal(err)
		}
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}

	list := ask(&reflectionv1.ServerReflectionRequest{MessageRequest: &reflectionv1.ServerReflectionRequest_ListServices{}})
	var got []string
	for _, s := range list.GetListServicesResponse().GetService() {
		got = append(got, s.GetName())
	}
	slices.Sort(got)
	want := []string{
		accountv1.AccountAdminService_ServiceDesc.ServiceName,
		accountv1.AccountService_ServiceDesc.ServiceName,
		accountv1.TenantService_ServiceDesc.ServiceName,
		credentialv1.AuthService_ServiceDesc.ServiceName,
		credentialv1.CredentialAdminService_ServiceDesc.ServiceName,
		credentialv1.CredentialService_ServiceDesc.ServiceName,
		healthpb.Health_ServiceDesc.ServiceName,
		mfav1.MfaAdminService_ServiceDesc.ServiceName,
		mfav1.MfaService_ServiceDesc.ServiceName,
		recoveryv1.RecoveryAdminService_ServiceDesc.ServiceName,
		recoveryv1.RecoveryService_ServiceDesc.ServiceName,
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("reflection lists\n %q\nwant\n %q", got, want)
	}

	// describe: the descriptors are there even though the services are proxied.
	desc := ask(&reflectionv1.ServerReflectionRequest{MessageRequest: &reflectionv1.ServerReflectionRequest_FileContainingSymbol{
		FileContainingSymbol: accountv1.TenantService_ServiceDesc.ServiceName,
	}})
	if len(desc.GetFileDescriptorResponse().GetFileDescriptorProto()) == 0 {
		t.Errorf("no descriptor for TenantService: %v", desc.GetErrorResponse())
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != io.EOF {
		t.Errorf("after CloseSend: %v, want EOF", err)
	}
}

func TestGRPC_Health(t *testing.T) {
	b := startBackend(t)
	g := startGateway(t, gateway.Config{Backends: allBackends(b.addr)}, false)
	resp, err := healthpb.NewHealthClient(dialGRPC(t, g.grpcAddr)).Check(callCtx(t), &healthpb.HealthCheckRequest{})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health = %v, %v; want SERVING", resp, err)
	}
}

func TestSamePort_ServesRESTAndGRPC(t *testing.T) {
	b := startBackend(t)
	g := startGateway(t, gateway.Config{Backends: allBackends(b.addr)}, true)
	addr := g.httpURL[len("http://"):]

	if code, body := do(t, "GET", g.httpURL+"/v1/tenants", "", nil); code != http.StatusOK {
		t.Fatalf("REST on the shared port = %d %s", code, body)
	}
	if code, _ := do(t, "GET", g.httpURL+"/healthz", "", nil); code != http.StatusOK {
		t.Fatalf("healthz on the shared port = %d", code)
	}
	conn := dialGRPC(t, addr)
	resp, err := accountv1.NewTenantServiceClient(conn).ListTenants(
		metadata.AppendToOutgoingContext(callCtx(t), "latchkey-tenant", "acme", "evil", "1"), &accountv1.ListTenantsRequest{})
	if err != nil {
		t.Fatalf("gRPC on the shared port: %v", err)
	}
	if len(resp.GetTenants()) != 1 {
		t.Errorf("ListTenants = %v", resp)
	}
	md := b.last(t, "ListTenants")
	if !slices.Equal(md.Get("latchkey-tenant"), []string{"acme"}) || len(md.Get("evil")) != 0 ||
		!slices.Equal(md.Get("x-forwarded-for"), []string{"127.0.0.1"}) {
		t.Errorf("metadata through the shared port = %v", md)
	}
	_, err = accountinternalv1.NewAccountInternalServiceClient(conn).ResolveLogin(callCtx(t), &accountinternalv1.ResolveLoginRequest{})
	if status.Code(err) != codes.Unimplemented {
		t.Errorf("internal service on the shared port = %v, want Unimplemented", err)
	}
	if _, err := healthpb.NewHealthClient(conn).Check(callCtx(t), &healthpb.HealthCheckRequest{}); err != nil {
		t.Errorf("health on the shared port: %v", err)
	}
}
