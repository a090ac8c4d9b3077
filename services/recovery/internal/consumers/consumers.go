// Package consumers is the recovery service's side of the events other
// services publish: thin handlers, like grpcapi's, that decode an event and
// call one use case inside the inbox's transaction (so a redelivered event
// changes nothing twice).
package consumers

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/events"
	"github.com/latchkey/latchkey/libs/inbox"
	"github.com/latchkey/latchkey/libs/natsx"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
	"github.com/latchkey/latchkey/services/recovery/internal/app"
	"github.com/latchkey/latchkey/services/recovery/internal/recovery"
	"github.com/latchkey/latchkey/services/recovery/internal/store"
)

// The durable consumers; every replica shares each, so an event is handled
// once.
const (
	AccountInvitedConsumer  = "recovery-account-invited"
	PasswordChangedConsumer = "recovery-password-changed"
	PasswordSetConsumer     = "recovery-password-set-by-admin"
	AccountDisabledConsumer = "recovery-account-disabled"
	UsernameChangedConsumer = "recovery-username-changed"
	AccountUpdatedConsumer  = "recovery-account-updated"
)

// Binder turns the inbox's transaction into the store's.
type Binder func(dbx.Tx) store.Tx

// Consumer is one inbox configuration with its handler.
type Consumer struct {
	Config  inbox.Config
	Handler inbox.Handler
}

// All returns the consumers: the invitation that needs an activation link,
// and the changes after which an account's links no longer stand (its
// password changed, by anyone, it was disabled, its username or e-mail
// changed).
func All(use *app.App, bind Binder) []Consumer {
	return []Consumer{
		consumer(AccountInvitedConsumer, events.AccountInvited, func() proto.Message { return &eventsv1.AccountInvited{} },
			func(ctx context.Context, tx store.Tx, m proto.Message, meta *eventsv1.EventMeta) error {
				ev := m.(*eventsv1.AccountInvited)
				to := recovery.Recipient{Address: ev.GetEmail(), Name: ev.GetDisplayName(), Locale: ev.GetLocale()}
				return use.Invited(ctx, tx, meta.GetTenantId(), ev.GetAccountId(), meta.GetEventId(), to)
			}, bind),
		voider(use, bind, PasswordChangedConsumer, events.PasswordChanged, func() proto.Message { return &eventsv1.PasswordChanged{} },
			func(m proto.Message) bool {
				// The same password stored anew changes nothing a link
				// stood for.
				return m.(*eventsv1.PasswordChanged).GetCause() != eventsv1.PasswordChanged_Cause_REHASH
			}),
		// An administrator's new password is a password change too.
		voider(use, bind, PasswordSetConsumer, events.PasswordSetByAdmin, func() proto.Message { return &eventsv1.PasswordSetByAdmin{} },
			func(proto.Message) bool { return true }),
		voider(use, bind, AccountDisabledConsumer, events.AccountDisabled, func() proto.Message { return &eventsv1.AccountDisabled{} },
			func(proto.Message) bool { return true }),
		voider(use, bind, UsernameChangedConsumer, events.UsernameChanged, func() proto.Message { return &eventsv1.UsernameChanged{} },
			func(proto.Message) bool { return true }),
		// A new e-mail address: the links went to the old one, and its
		// proof was of the old one.
		consumer(AccountUpdatedConsumer, events.AccountUpdated, func() proto.Message { return &eventsv1.AccountUpdated{} },
			func(ctx context.Context, tx store.Tx, m proto.Message, meta *eventsv1.EventMeta) error {
				ev := m.(*eventsv1.AccountUpdated)
				if !slices.Contains(ev.GetChangedFields(), "email") {
					return nil
				}
				return use.EmailChanged(ctx, tx, meta.GetTenantId(), ev.GetAccountId(), occurTime(meta))
			}, bind),
	}
}

// occurTime is when the event's change was made, or zero when the event
// does not say (the use cases then take their own now).
func occurTime(meta *eventsv1.EventMeta) time.Time {
	if meta.GetOccurTime() == nil {
		return time.Time{}
	}
	return clock.Normalize(meta.GetOccurTime().AsTime())
}

type accountEvent interface {
	proto.Message
	GetMeta() *eventsv1.EventMeta
	GetAccountId() string
}

// voider voids the account's links issued before the event, when voids
// says the event calls for it.
func voider(use *app.App, bind Binder, durable, subject string, newMsg func() proto.Message, voids func(proto.Message) bool) Consumer {
	return consumer(durable, subject, newMsg, func(ctx context.Context, tx store.Tx, m proto.Message, meta *eventsv1.EventMeta) error {
		if !voids(m) {
			return nil
		}
		_, err := use.VoidLinksAfterChange(ctx, tx, meta.GetTenantId(), m.(accountEvent).GetAccountId(), occurTime(meta))
		return err
	}, bind)
}

func consumer(durable, subject string, newMsg func() proto.Message,
	handle func(context.Context, store.Tx, proto.Message, *eventsv1.EventMeta) error, bind Binder) Consumer {
	cfg := inbox.Config{Stream: natsx.EventsStreamName, Durable: durable, FilterSubject: subject}
	return Consumer{Config: cfg, Handler: func(ctx context.Context, tx dbx.Tx, msg jetstream.Msg) error {
		m := newMsg()
		if err := proto.Unmarshal(msg.Data(), m); err != nil {
			return inbox.Permanent(fmt.Errorf("decode %s: %w", subject, err))
		}
		err := handle(ctx, bind(tx), m, m.(accountEvent).GetMeta())
		if errs.Is(err, errs.KindInvalid) {
			return inbox.Permanent(err)
		}
		return err
	}}
}
