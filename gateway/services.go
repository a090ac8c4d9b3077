package gateway

import (
	"context"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"

	accountgw "github.com/latchkey/latchkey/gateway/gen/latchkey/account/v1"
	credentialgw "github.com/latchkey/latchkey/gateway/gen/latchkey/credential/v1"
	mfagw "github.com/latchkey/latchkey/gateway/gen/latchkey/mfa/v1"
	recoverygw "github.com/latchkey/latchkey/gateway/gen/latchkey/recovery/v1"
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
	// backendNotification has no public API; the gateway asks only its
	// health.
	backendNotification backend = "notification"
)

// publicService is one gRPC service the edge exposes, over REST and gRPC.
type publicService struct {
	name    string // full service name, e.g. latchkey.account.v1.TenantService
	backend backend
	// register maps the service's REST routes onto mux, calling it over conn
	// (the generated Register…Handler of gateway/gen).
	register func(ctx context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error
}

// publicServices is the whole public API. Anything not listed here — the
// internal services above all — is unreachable through the edge, however a
// client spells the method, because both the REST mux and the gRPC proxy
// are built from this list alone.
var publicServices = []publicService{
	{accountv1.TenantService_ServiceDesc.ServiceName, backendAccount, accountgw.RegisterTenantServiceHandler},
	{accountv1.AccountAdminService_ServiceDesc.ServiceName, backendAccount, accountgw.RegisterAccountAdminServiceHandler},
	{accountv1.AccountService_ServiceDesc.ServiceName, backendAccount, accountgw.RegisterAccountServiceHandler},
	{credentialv1.AuthService_ServiceDesc.ServiceName, backendCredential, credentialgw.RegisterAuthServiceHandler},
	{credentialv1.CredentialService_ServiceDesc.ServiceName, backendCredential, credentialgw.RegisterCredentialServiceHandler},
	{credentialv1.CredentialAdminService_ServiceDesc.ServiceName, backendCredential, credentialgw.RegisterCredentialAdminServiceHandler},
	{recoveryv1.RecoveryService_ServiceDesc.ServiceName, backendRecovery, recoverygw.RegisterRecoveryServiceHandler},
	{recoveryv1.RecoveryAdminService_ServiceDesc.ServiceName, backendRecovery, recoverygw.RegisterRecoveryAdminServiceHandler},
	{mfav1.MfaService_ServiceDesc.ServiceName, backendMFA, mfagw.RegisterMfaServiceHandler},
	{mfav1.MfaAdminService_ServiceDesc.ServiceName, backendMFA, mfagw.RegisterMfaAdminServiceHandler},
}
