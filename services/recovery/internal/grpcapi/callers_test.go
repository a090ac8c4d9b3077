package grpcapi_test

import (
	"testing"

	"google.golang.org/grpc"

	"github.com/latchkey/latchkey/libs/testkit"
	recoveryinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/recovery/v1"
	"github.com/latchkey/latchkey/services/recovery/internal/grpcapi"
)

func TestCallers_NameEveryInternalMethodAndNothingElse(t *testing.T) {
	testkit.CheckCallers(t, grpcapi.Callers, func(s *grpc.Server) { grpcapi.RegisterInternal(s, nil) }, recoveryinternalv1.RecoveryInternalService_ServiceDesc.ServiceName)
}
