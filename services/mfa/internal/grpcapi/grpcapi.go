// Package grpcapi is the mfa service's gRPC surface. The service is not
// built yet: every RPC answers Unimplemented (REST 501), as the README's
// status table says, so clients see the whole API from the start.
package grpcapi

import (
	"google.golang.org/grpc"

	mfainternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/mfa/v1"
	mfav1 "github.com/latchkey/latchkey/proto/gen/latchkey/mfa/v1"
)

// Register adds every mfa service to s.
func Register(s grpc.ServiceRegistrar) {
	mfav1.RegisterMfaServiceServer(s, &mfaService{})
	mfav1.RegisterMfaAdminServiceServer(s, &mfaAdminService{})
	mfainternalv1.RegisterMfaInternalServiceServer(s, &mfaInternalService{})
}

type mfaService struct {
	mfav1.UnimplementedMfaServiceServer
}

type mfaAdminService struct {
	mfav1.UnimplementedMfaAdminServiceServer
}

type mfaInternalService struct {
	mfainternalv1.UnimplementedMfaInternalServiceServer
}
