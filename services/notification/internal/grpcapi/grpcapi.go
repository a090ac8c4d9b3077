// Package grpcapi is the notification service's gRPC surface: thin
// handlers that turn protos into the domain, call one use case and turn
// the result back.
package grpcapi

import (
	"context"

	"google.golang.org/grpc"

	notificationv1 "github.com/latchkey/latchkey/proto/gen/latchkey/notification/v1"
	"github.com/latchkey/latchkey/services/notification/internal/app"
	"github.com/latchkey/latchkey/services/notification/internal/convert"
)

// Register adds every notification service to s.
func Register(s grpc.ServiceRegistrar, use *app.App) {
	notificationv1.RegisterNotificationInternalServiceServer(s, &notificationInternalService{use: use})
}

type notificationInternalService struct {
	notificationv1.UnimplementedNotificationInternalServiceServer
	use *app.App
}

func (s *notificationInternalService) SendNotification(ctx context.Context, req *notificationv1.SendNotificationRequest) (*notificationv1.SendNotificationResponse, error) {
	d, err := s.use.SendNotification(ctx, convert.RequestFromProto(req))
	if err != nil {
		return nil, err
	}
	return &notificationv1.SendNotificationResponse{DeliveryId: d.ID}, nil
}

func (s *notificationInternalService) GetDelivery(ctx context.Context, req *notificationv1.GetDeliveryRequest) (*notificationv1.GetDeliveryResponse, error) {
	d, err := s.use.GetDelivery(ctx, req.GetDeliveryId())
	if err != nil {
		return nil, err
	}
	return &notificationv1.GetDeliveryResponse{Delivery: convert.DeliveryToProto(d)}, nil
}
