// Package grpcapi is the credential service's gRPC surface. The service is not
// built yet: every RPC answers Unimplemented (REST 501), as the README's
// status table says, so clients see the whole API from the start.
package grpcapi

import (
	"google.golang.org/grpc"

	credentialv1 "github.com/latchkey/latchkey/proto/gen/latchkey/credential/v1"
)

// Register adds every credential service to s.
func Register(s grpc.ServiceRegistrar) {
	credentialv1.RegisterAuthServiceServer(s, &authService{})
	credentialv1.RegisterCredentialServiceServer(s, &credentialService{})
	credentialv1.RegisterCredentialAdminServiceServer(s, &credentialAdminService{})
	credentialv1.RegisterCredentialInternalServiceServer(s, &credentialInternalService{})
}

type authService struct {
	credentialv1.UnimplementedAuthServiceServer
}

type credentialService struct {
	credentialv1.UnimplementedCredentialServiceServer
}

type credentialAdminService struct {
	credentialv1.UnimplementedCredentialAdminServiceServer
}

type credentialInternalService struct {
	credentialv1.UnimplementedCredentialInternalServiceServer
}
