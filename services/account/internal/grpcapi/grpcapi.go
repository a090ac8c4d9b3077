// Package grpcapi is the account service's gRPC surface: thin handlers that
// turn requests into use-case calls and domain values into responses.
package grpcapi

import (
	"google.golang.org/grpc"

	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
	accountinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/account/v1"
	"github.com/latchkey/latchkey/services/account/internal/app"
)

// RegisterPublic adds the public services, the gateway's backends.
func RegisterPublic(s grpc.ServiceRegistrar, a *app.App) {
	accountv1.RegisterTenantServiceServer(s, &tenants{app: a})
	accountv1.RegisterAccountAdminServiceServer(s, &admin{app: a})
	accountv1.RegisterAccountServiceServer(s, &self{app: a})
}

// RegisterInternal adds the internal service, for the other services
// (Callers says which may call what).
func RegisterInternal(s grpc.ServiceRegistrar, a *app.App) {
	accountinternalv1.RegisterAccountInternalServiceServer(s, &internal{app: a})
}
