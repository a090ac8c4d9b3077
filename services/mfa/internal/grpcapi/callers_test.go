package grpcapi_test

import (
	"testing"

	"google.golang.org/grpc"

	"github.com/latchkey/latchkey/libs/testkit"
	mfainternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/mfa/v1"
	"github.com/latchkey/latchkey/services/mfa/internal/grpcapi"
)

func TestCallers_NameEveryInternalMethodAndNothingElse(t *testing.T) {
	testkit.CheckCallers(t, grpcapi.Callers, func(s *grpc.Server) { grpcapi.RegisterInternal(s, nil) }, mfainternalv1.MfaInternalService_ServiceDesc.ServiceName)
}
