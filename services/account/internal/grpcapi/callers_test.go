package grpcapi_test

import (
	"testing"

	"google.golang.org/grpc"

	"github.com/latchkey/latchkey/libs/testkit"
	accountinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/account/v1"
	"github.com/latchkey/latchkey/services/account/internal/grpcapi"
)

func TestCallers_NameEveryInternalMethodAndNothingElse(t *testing.T) {
	testkit.CheckCallers(t, grpcapi.Callers, func(s *grpc.Server) { grpcapi.RegisterInternal(s, nil) }, accountinternalv1.AccountInternalService_ServiceDesc.ServiceName)
}
