// Package grpcapi is the notification service's gRPC surface. The service is not
// built yet: every RPC answers Unimplemented (REST 501), as the README's
// status table says, so clients see the whole API from the start.
package grpcapi

import (
	"google.golang.org/grpc"

	notificationv1 "github.com/latchkey/latchkey/proto/gen/latchkey/notification/v1"
)

// Register adds every notification service to s.
func Register(s grpc.ServiceRegistrar) {
	notificationv1.RegisterNotificationInternalServiceServer(s, &notificationInternalService{})
}

type notificationInternalService struct {
	notificationv1.UnimplementedNotificationInternalServiceServer
}
