package peers

import (
	"context"

	"github.com/latchkey/latchkey/libs/errs"
	notificationinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/notification/v1"
	notificationv1 "github.com/latchkey/latchkey/proto/gen/latchkey/notification/v1"
	"github.com/latchkey/latchkey/services/mfa/internal/app"
)

// Notifications asks the notification service for e-mail.
type Notifications struct {
	c notificationinternalv1.NotificationInternalServiceClient
}

var _ app.Mailer = (*Notifications)(nil)

// NewNotifications returns the notification service's client.
func NewNotifications(c notificationinternalv1.NotificationInternalServiceClient) *Notifications {
	return &Notifications{c: c}
}

// SendKey implements app.Mailer: the AUTHENTICATOR_KEY template, to the
// account's own address (notification looks it up), with the otpauth://
// URI (notification draws the QR code from it) and the key as text. The
// secret travels in this direct request only, never in an event.
func (n *Notifications) SendKey(ctx context.Context, requestID, tenantID, accountID, secret, uri string) error {
	_, err := n.c.SendNotification(ctx, &notificationinternalv1.SendNotificationRequest{
		RequestId: "mfa-key-" + requestID, TenantId: tenantID, AccountId: accountID,
		Template:  notificationv1.Template_AUTHENTICATOR_KEY,
		Variables: map[string]string{"secret": secret, "otpauth_uri": uri},
	})
	return errs.FromStatus(err)
}
