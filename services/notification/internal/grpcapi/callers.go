package grpcapi

import (
	"github.com/latchkey/latchkey/libs/grpcx"
	notificationinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/notification/v1"
)

// Callers says which services may call each internal method; any other
// caller, and any method not named here, is refused. Only the services
// that send e-mail with a secret in it (links, keys) ask directly; security
// notices come from events.
var Callers = grpcx.Callers{
	notificationinternalv1.NotificationInternalService_SendNotification_FullMethodName: {"recovery", "mfa"},
	notificationinternalv1.NotificationInternalService_GetDelivery_FullMethodName:      {"recovery", "mfa"},
}
