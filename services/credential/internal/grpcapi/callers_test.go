package grpcapi_test

import (
	"testing"

	"google.golang.org/grpc"

	"github.com/latchkey/latchkey/libs/testkit"
	credentialinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/credential/v1"
	"github.com/latchkey/latchkey/services/credential/internal/grpcapi"
)

func TestCallers_NameEveryInternalMethodAndNothingElse(t *testing.T) {
	testkit.CheckCallers(t, grpcapi.Callers, func(s *grpc.Server) { grpcapi.RegisterInternal(s, nil, nil) }, credentialinternalv1.CredentialInternalService_ServiceDesc.ServiceName)
}
