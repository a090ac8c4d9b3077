// Package consumers is the credential service's side of the events other
// services publish: thin handlers, like grpcapi's, that decode an event
// and call one use case inside the inbox's transaction.
package consumers

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/events"
	"github.com/latchkey/latchkey/libs/inbox"
	"github.com/latchkey/latchkey/libs/natsx"
	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
	"github.com/latchkey/latchkey/services/credential/internal/app"
	"github.com/latchkey/latchkey/services/credential/internal/store"
)

// The durable consumers of the account events that end sessions; every
// replica shares each, so an event is handled once.
const (
	AccountUpdatedConsumer  = "credential-account-updated"
	AccountLockedConsumer   = "credential-account-locked"
	AccountDisabledConsumer = "credential-account-disabled"
)

// Binder turns the inbox's transaction into the store's.
type Binder func(dbx.Tx) store.Tx

// Consumer is one inbox configuration with its handler.
type Consumer struct {
	Config  inbox.Config
	Handler inbox.Handler
}

// SessionEnders are the consumers that end an account's sessions when the
// account service says they may no longer be used: its roles changed, an
// administrator or the inactivity sweep locked it, it was disabled. The
// account service asks for the same at once; these finish the job when it
// could not reach this service.
func SessionEnders(use *app.App, bind Binder) []Consumer {
	return []Consumer{
		consumer(use, bind, AccountUpdatedConsumer, events.AccountUpdated, func() proto.Message { return &eventsv1.AccountUpdated{} },
			func(m proto.Message) (string, bool) {
				ev := m.(*eventsv1.AccountUpdated)
				for _, f := range ev.GetChangedFields() {
					if f == "roles" {
						return "ROLES_CHANGED", true
					}
				}
				return "", false
			}),
		consumer(use, bind, AccountLockedConsumer, events.AccountLocked, func() proto.Message { return &eventsv1.AccountLocked{} },
			func(m proto.Message) (string, bool) {
				// A lockout after failed log-ins leaves the sessions alone,
				// as it always has: guessing a password must not sign its
				// owner out everywhere.
				switch m.(*eventsv1.AccountLocked).GetReason() {
				case accountv1.LockReason_ADMIN, accountv1.LockReason_INACTIVITY:
					return "ACCOUNT_LOCKED", true
				}
				return "", false
			}),
		consumer(use, bind, AccountDisabledConsumer, events.AccountDisabled, func() proto.Message { return &eventsv1.AccountDisabled{} },
			func(proto.Message) (string, bool) { return "ACCOUNT_DISABLED", true }),
	}
}

// accountEvent is what the three events share.
type accountEvent interface {
	proto.Message
	GetMeta() *eventsv1.EventMeta
	GetAccountId() string
}

// consumer decodes the events of subject into newMsg's type and, when
// ends says so, ends the sessions begun before the event with its reason.
func consumer(use *app.App, bind Binder, durable, subject string, newMsg func() proto.Message,
	ends func(proto.Message) (reason string, ok bool)) Consumer {
	cfg := inbox.Config{Stream: natsx.EventsStreamName, Durable: durable, FilterSubject: subject}
	return Consumer{Config: cfg, Handler: func(ctx context.Context, tx dbx.Tx, msg jetstream.Msg) error {
		m := newMsg()
		if err := proto.Unmarshal(msg.Data(), m); err != nil {
			return inbox.Permanent(fmt.Errorf("decode %s: %w", subject, err))
		}
		reason, ok := ends(m)
		if !ok {
			return nil
		}
		ev := m.(accountEvent)
		meta := ev.GetMeta()
		var at time.Time
		if meta.GetOccurTime() != nil {
			at = clock.Normalize(meta.GetOccurTime().AsTime())
		}
		_, err := use.EndSessionsAfterChange(ctx, bind(tx), meta.GetTenantId(), ev.GetAccountId(), reason, at)
		if errs.Is(err, errs.KindInvalid) {
			return inbox.Permanent(err)
		}
		return err
	}}
}
