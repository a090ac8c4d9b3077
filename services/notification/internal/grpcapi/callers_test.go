package grpcapi_test

import (
	"testing"

	"google.golang.org/grpc"

	"github.com/latchkey/latchkey/libs/testkit"
	notificationinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/notification/v1"
	"github.com/latchkey/latchkey/services/notification/internal/grpcapi"
)

func TestCallers_NameEveryInternalMethodAndNothingElse(t *testing.T) {
	testkit.CheckCallers(t, grpcapi.Callers, func(s *grpc.Server) { grpcapi.RegisterInternal(s, nil) }, notificationinternalv1.NotificationInternalService_ServiceDesc.ServiceName)
}
