// Package grpcapi is the notification service's gRPC surface: thin
// handlers that turn protos into the domain, call one use case and turn
// the result back.
package grpcapi

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	notificationinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/notification/v1"
	notificationv1 "github.com/latchkey/latchkey/proto/gen/latchkey/notification/v1"
	"github.com/latchkey/latchkey/services/notification/internal/app"
	"github.com/latchkey/latchkey/services/notification/internal/consumers"
	"github.com/latchkey/latchkey/services/notification/internal/delivery"
	"github.com/latchkey/latchkey/services/notification/internal/store/sqlstore"
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
	d, err := s.use.Send(ctx, nil, consumers.RequestFromProto(req))
	if err != nil {
		return nil, err
	}
	return &notificationinternalv1.SendNotificationResponse{DeliveryId: d.ID}, nil
}

func (s *notificationInternalService) GetDelivery(ctx context.Context, req *notificationinternalv1.GetDeliveryRequest) (*notificationinternalv1.GetDeliveryResponse, error) {
	d, err := s.use.Get(ctx, req.GetDeliveryId())
	if err != nil {
		return nil, err
	}
	return &notificationinternalv1.GetDeliveryResponse{Delivery: DeliveryToProto(d)}, nil
}

// DeliveryToProto maps a delivery to its proto (no variables, no body).
func DeliveryToProto(d *delivery.Delivery) *notificationinternalv1.Delivery {
	out := &notificationinternalv1.Delivery{
		Id: d.ID, TenantId: d.TenantID, AccountId: d.AccountID, Template: sqlstore.TemplateToProto(d.Template),
		RecipientAddress: d.RecipientAddress, Locale: d.Locale,
		Status:   notificationv1.DeliveryStatus_Value(notificationv1.DeliveryStatus_Value_value[string(d.Status)]),
		Attempts: int32(d.Attempts), LastError: d.LastError,
		CreateTime: timestamppb.New(d.CreatedAt), UpdateTime: timestamppb.New(d.UpdatedAt),
	}
	if d.SentAt != nil {
		out.SentTime = timestamppb.New(*d.SentAt)
	}
	if d.NextAttemptAt != nil && (d.Status == delivery.Queued || d.Status == delivery.Retrying) {
		out.NextAttemptTime = timestamppb.New(*d.NextAttemptAt)
	}
	return out
}
