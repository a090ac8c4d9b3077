// Package grpcapi is the notification service's gRPC surface: thin
// handlers that turn protos into the domain, call one use case and turn
// the result back.
package grpcapi

import (
	"context"

	notificationinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/notification/v1"
	"github.com/latchkey/latchkey/services/notification/internal/app"
	"github.com/latchkey/latchkey/services/notification/internal/convert"
	"google.golang.org/grpc"
)

// Register adds every notification service to s.
func Register(s grpc.ServiceRegistrar, use *app.App) {
	notificationinternalv1.RegisterNotificationInternalServiceServer(s, &notificationInternalService{use: use})
}

type notificationInternalService struct {
	notificationinternalv1.UnimplementedNotificationInternalServiceServer
	use *app.App
}

func (s *notificationInternalService) SendNotification(ctx context.Context, req *notificationinternalv1.SendNotificationRequest) (*notificationinternalv1.SendNotificationResponse, error) {
	d, err := s.use.SendNotification(ctx, convert.RequestFromProto(req))
	if err != nil {
		return nil, err
	}
	return &notificationinternalv1.SendNotificationResponse{DeliveryId: d.ID}, nil
}

func (s *notificationInternalService) GetDelivery(ctx context.Context, req *notificationinternalv1.GetDeliveryRequest) (*notificationinternalv1.GetDeliveryResponse, error) {
	d, err := s.use.GetDelivery(ctx, req.GetDeliveryId())
	if err != nil {
		return nil, err
	}
	return &notificationinternalv1.GetDeliveryResponse{Delivery: convert.DeliveryToProto(d)}, nil
}
