package gateway

import (
	"context"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"

	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
	credentialv1 "github.com/latchkey/latchkey/proto/gen/latchkey/credential/v1"
	mfav1 "github.com/latchkey/latchkey/proto/gen/latchkey/mfa/v1"
	recoveryv1 "github.com/latchkey/latchkey/proto/gen/latchkey/recovery/v1"
)

// backend names one of the services behind the gateway.
type backend string

const (
	backendAccount    backend = "account"
	backendCredential backend = "credential"
	backendRecovery   backend = "recovery"
	backendMFA        backend = "mfa"
)

// publicService is one gRPC service the edge exposes, over REST and gRPC.
type publicService struct {
	name     string // full service name, e.g. latchkey.account.v1.TenantService
	backend  backend
	register func(ctx context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error
}

// publicServices is the whole public API. Anything not listed here — the
// *InternalService services above all — is unreachable through the edge,
// however a client spells the method, because both the REST mux and the
// gRPC proxy are built from this list alone.
var publicServices = []publicService{
	{accountv1.TenantService_ServiceDesc.ServiceName, backendAccount, func(ctx context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error {
		return accountv1.RegisterTenantServiceHandlerClient(ctx, mux, accountv1.NewTenantServiceClient(conn))
	}},
	{accountv1.AccountAdminService_ServiceDesc.ServiceName, backendAccount, func(ctx context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error {
		return accountv1.RegisterAccountAdminServiceHandlerClient(ctx, mux, accountv1.NewAccountAdminServiceClient(conn))
	}},
	{accountv1.AccountService_ServiceDesc.ServiceName, backendAccount, func(ctx context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error {
		return accountv1.RegisterAccountServiceHandlerClient(ctx, mux, accountv1.NewAccountServiceClient(conn))
	}},
	{credentialv1.AuthService_ServiceDesc.ServiceName, backendCredential, func(ctx context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error {
		return credentialv1.RegisterAuthServiceHandlerClient(ctx, mux, credentialv1.NewAuthServiceClient(conn))
	}},
	{credentialv1.CredentialService_ServiceDesc.ServiceName, backendCredential, func(ctx context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error {
		return credentialv1.RegisterCredentialServiceHandlerClient(ctx, mux, credentialv1.NewCredentialServiceClient(conn))
	}},
	{credentialv1.CredentialAdminService_ServiceDesc.ServiceName, backendCredential, func(ctx context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error {
		return credentialv1.RegisterCredentialAdminServiceHandlerClient(ctx, mux, credentialv1.NewCredentialAdminServiceClient(conn))
	}},
	{recoveryv1.RecoveryService_ServiceDesc.ServiceName, backendRecovery, func(ctx context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error {
		return recoveryv1.RegisterRecoveryServiceHandlerClient(ctx, mux, recoveryv1.NewRecoveryServiceClient(conn))
	}},
	{recoveryv1.RecoveryAdminService_ServiceDesc.ServiceName, backendRecovery, func(ctx context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error {
		return recoveryv1.RegisterRecoveryAdminServiceHandlerClient(ctx, mux, recoveryv1.NewRecoveryAdminServiceClient(conn))
	}},
	{mfav1.MfaService_ServiceDesc.ServiceName, backendMFA, func(ctx context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error {
		return mfav1.RegisterMfaServiceHandlerClient(ctx, mux, mfav1.NewMfaServiceClient(conn))
	}},
	{mfav1.MfaAdminService_ServiceDesc.ServiceName, backendMFA, func(ctx context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error {
		return mfav1.RegisterMfaAdminServiceHandlerClient(ctx, mux, mfav1.NewMfaAdminServiceClient(conn))
	}},
}

// isInternalService tells the services that only other Latchkey services may
// call; the naming convention is what the OpenAPI filter relies on too.
func isInternalService(name string) bool {
	return strings.HasSuffix(name, "InternalService")
}
