// Package consumers is the notification service's side of JetStream: the
// private work-queue subject on which other services ask for e-mail, and
// the public events that call for a security notice. Each handler decodes
// a message and stores a delivery inside the inbox's transaction, so a
// redelivered message changes nothing; the worker sends it after commit.
package consumers

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/events"
	"github.com/latchkey/latchkey/libs/inbox"
	"github.com/latchkey/latchkey/libs/natsx"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
	notificationinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/notification/v1"
	"github.com/latchkey/latchkey/services/notification/internal/app"
	"github.com/latchkey/latchkey/services/notification/internal/convert"
	"github.com/latchkey/latchkey/services/notification/internal/delivery"
	notificationevents "github.com/latchkey/latchkey/services/notification/internal/events"
	"github.com/latchkey/latchkey/services/notification/internal/store"
)

// SendConsumer is the durable consumer of the work queue.
const SendConsumer = "notification-send"

// Consumer is one durable consumer with its handler.
type Consumer struct {
	Config  inbox.Config
	Handler inbox.Handler
}

// Binder turns the inbox's transaction into the store's.
type Binder func(dbx.Tx) store.Tx

// All returns the work-queue consumer and one consumer per event a notice
// follows (NATS 2.9 consumers have a single filter subject).
func All(use *app.App, bind Binder) []Consumer {
	return []Consumer{
		{inbox.Config{Stream: natsx.NotifyStreamName, Durable: SendConsumer, FilterSubject: natsx.NotifySendSubject}, sendHandler(use, bind)},
		notice(use, bind, "notification-password-changed", events.PasswordChanged, func() proto.Message { return &eventsv1.PasswordChanged{} }, passwordChanged),
		notice(use, bind, "notification-account-locked", events.AccountLocked, func() proto.Message { return &eventsv1.AccountLocked{} }, accountLocked),
		notice(use, bind, "notification-mfa-enabled", notificationevents.SubjectMfaEnabled, func() proto.Message { return &eventsv1.MfaEnabled{} }, mfaEnabled),
		notice(use, bind, "notification-mfa-disabled", notificationevents.SubjectMfaDisabled, func() proto.Message { return &eventsv1.MfaDisabled{} }, mfaDisabled),
		notice(use, bind, "notification-mfa-reset", notificationevents.SubjectMfaReset, func() proto.Message { return &eventsv1.MfaReset{} }, mfaReset),
		notice(use, bind, "notification-new-device", events.LoginSucceeded, func() proto.Message { return &eventsv1.LoginSucceeded{} }, newDevice),
		notice(use, bind, "notification-password-expires-soon", events.PasswordExpiresSoon, func() proto.Message { return &eventsv1.PasswordExpiresSoon{} }, passwordExpiresSoon),
	}
}

func sendHandler(use *app.App, bind Binder) inbox.Handler {
	return func(ctx context.Context, tx dbx.Tx, msg jetstream.Msg) error {
		var req notificationinternalv1.SendNotificationRequest
		if err := proto.Unmarshal(msg.Data(), &req); err != nil {
			return inbox.Permanent(fmt.Errorf("decode SendNotificationRequest: %w", err))
		}
		_, err := use.SendNotificationInTx(ctx, bind(tx), convert.RequestFromProto(&req))
		if errs.Is(err, errs.KindInvalid) {
			return inbox.Permanent(err)
		}
		return err
	}
}

// noticeFunc turns an event into a notice request; ok false means the
// event calls for none.
type noticeFunc func(ev proto.Message) (tmpl delivery.Template, accountID string, vars map[string]string, ok bool)

func notice(use *app.App, bind Binder, durable, subject string, newMsg func() proto.Message, fn noticeFunc) Consumer {
	cfg := inbox.Config{Stream: natsx.EventsStreamName, Durable: durable, FilterSubject: subject}
	return Consumer{cfg, func(ctx context.Context, tx dbx.Tx, msg jetstream.Msg) error {
		ev := newMsg()
		if err := proto.Unmarshal(msg.Data(), ev); err != nil {
			return inbox.Permanent(fmt.Errorf("decode %s: %w", subject, err))
		}
		tmpl, accountID, vars, ok := fn(ev)
		if !ok {
			return nil
		}
		meta := metaOf(ev)
		n := app.Notice{EventID: meta.GetEventId(), TenantID: meta.GetTenantId(), AccountID: accountID, Template: tmpl, Variables: vars}
		if t := meta.GetOccurTime(); t != nil {
			n.OccurredAt = t.AsTime()
		}
		err := use.NoticeFromEvent(ctx, bind(tx), n)
		if errs.Is(err, errs.KindInvalid) {
			return inbox.Permanent(err)
		}
		return err
	}}
}

func metaOf(m proto.Message) *eventsv1.EventMeta {
	if x, ok := m.(interface{ GetMeta() *eventsv1.EventMeta }); ok {
		return x.GetMeta()
	}
	return nil
}

func formatTS(t *timestamppb.Timestamp) string { return t.AsTime().UTC().Format(time.RFC3339) }

func passwordChanged(m proto.Message) (delivery.Template, string, map[string]string, bool) {
	ev := m.(*eventsv1.PasswordChanged)
	switch ev.GetCause() {
	case eventsv1.PasswordChanged_Cause_REHASH, eventsv1.PasswordChanged_Cause_ACTIVATION:
		// The same password stored anew, or the first one: nothing the
		// user needs to hear about.
		return "", "", nil, false
	}
	return delivery.PasswordChanged, ev.GetAccountId(), nil, true
}

func accountLocked(m proto.Message) (delivery.Template, string, map[string]string, bool) {
	ev := m.(*eventsv1.AccountLocked)
	vars := map[string]string{"reason": ev.GetReason().String()}
	if ev.GetUnlockTime() != nil {
		vars["unlock_time"] = formatTS(ev.GetUnlockTime())
	}
	return delivery.AccountLocked, ev.GetAccountId(), vars, true
}

// passwordExpiresSoon warns of an expiry the credential service's sweep
// found in the tenant's warning window, with its date.
func passwordExpiresSoon(m proto.Message) (delivery.Template, string, map[string]string, bool) {
	ev := m.(*eventsv1.PasswordExpiresSoon)
	var vars map[string]string
	if ev.GetExpireTime() != nil {
		vars = map[string]string{"expire_time": formatTS(ev.GetExpireTime())}
	}
	return delivery.PasswordExpiresSoon, ev.GetAccountId(), vars, true
}

func mfaEnabled(m proto.Message) (delivery.Template, string, map[string]string, bool) {
	return delivery.MFAEnabled, m.(*eventsv1.MfaEnabled).GetAccountId(), nil, true
}

func mfaDisabled(m proto.Message) (delivery.Template, string, map[string]string, bool) {
	return delivery.MFADisabled, m.(*eventsv1.MfaDisabled).GetAccountId(), nil, true
}

func mfaReset(m proto.Message) (delivery.Template, string, map[string]string, bool) {
	return delivery.MFADisabled, m.(*eventsv1.MfaReset).GetAccountId(), map[string]string{"by_admin": "true"}, true
}

func newDevice(m proto.Message) (delivery.Template, string, map[string]string, bool) {
	ev := m.(*eventsv1.LoginSucceeded)
	if !ev.GetNewDevice() {
		return "", "", nil, false
	}
	return delivery.NewDevice, ev.GetAccountId(), map[string]string{
		"device_name": ev.GetDeviceName(), "ip": ev.GetIp(), "user_agent": ev.GetUserAgent(),
	}, true
}
