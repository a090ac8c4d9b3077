// Package convert maps between the notification service's protos and its
// domain, for the gRPC handlers, the work-queue consumer and the events.
package convert

import (
	"google.golang.org/protobuf/types/known/timestamppb"

	notificationinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/notification/v1"
	notificationv1 "github.com/latchkey/latchkey/proto/gen/latchkey/notification/v1"
	"github.com/latchkey/latchkey/services/notification/internal/delivery"
)

// TemplateToProto maps a template to its enum value.
func TemplateToProto(t delivery.Template) notificationv1.Template_Value {
	return notificationv1.Template_Value(notificationv1.Template_Value_value[string(t)])
}

// RequestFromProto turns a SendNotificationRequest into the domain's.
func RequestFromProto(r *notificationinternalv1.SendNotificationRequest) delivery.Request {
	t := ""
	if r.GetTemplate() != notificationv1.Template_VALUE_UNSPECIFIED {
		t = r.GetTemplate().String()
	}
	return delivery.Request{
		RequestID: r.GetRequestId(), TenantID: r.GetTenantId(), AccountID: r.GetAccountId(),
		Template: delivery.Template(t), RecipientAddress: r.GetRecipient().GetAddress(),
		RecipientName: r.GetRecipient().GetDisplayName(), Locale: r.GetLocale(), Variables: r.GetVariables(),
	}
}

// DeliveryToProto maps a delivery to its proto (no variables, no body).
func DeliveryToProto(d *delivery.Delivery) *notificationinternalv1.Delivery {
	out := &notificationinternalv1.Delivery{
		Id: d.ID, TenantId: d.TenantID, AccountId: d.AccountID, Template: TemplateToProto(d.Template),
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
