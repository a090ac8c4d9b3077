// Package grpcapi is the recovery service's gRPC surface. The service is not
// built yet: every RPC answers Unimplemented (REST 501), as the README's
// status table says, so clients see the whole API from the start.
package grpcapi

import (
	"google.golang.org/grpc"

	recoveryinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/recovery/v1"
	recoveryv1 "github.com/latchkey/latchkey/proto/gen/latchkey/recovery/v1"
)

// Register adds every recovery service to s.
func Register(s grpc.ServiceRegistrar) {
	recoveryv1.RegisterRecoveryServiceServer(s, &recoveryService{})
	recoveryv1.RegisterRecoveryAdminServiceServer(s, &recoveryAdminService{})
	recoveryinternalv1.RegisterRecoveryInternalServiceServer(s, &recoveryInternalService{})
}

type recoveryService struct {
	recoveryv1.UnimplementedRecoveryServiceServer
}

type recoveryAdminService struct {
	recoveryv1.UnimplementedRecoveryAdminServiceServer
}

type recoveryInternalService struct {
	recoveryinternalv1.UnimplementedRecoveryInternalServiceServer
}
