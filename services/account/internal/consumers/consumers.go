// Package consumers is the account service's side of the events other
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
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
	"github.com/latchkey/latchkey/services/account/internal/app"
	"github.com/latchkey/latchkey/services/account/internal/store"
)

// LoginSucceededConsumer is the durable consumer of log-ins; every replica
// shares it, so each event is handled once.
const LoginSucceededConsumer = "account-login-succeeded"

// Binder turns the inbox's transaction into the store's.
type Binder func(dbx.Tx) store.Tx

// LoginSucceeded is the inbox configuration and handler that keep each
// account's last log-in from the credential service's LoginSucceeded
// events.
func LoginSucceeded(use *app.App, bind Binder) (inbox.Config, inbox.Handler) {
	cfg := inbox.Config{Stream: natsx.EventsStreamName, Durable: LoginSucceededConsumer, FilterSubject: events.LoginSucceeded}
	return cfg, func(ctx context.Context, tx dbx.Tx, msg jetstream.Msg) error {
		var ev eventsv1.LoginSucceeded
		if err := proto.Unmarshal(msg.Data(), &ev); err != nil {
			return inbox.Permanent(fmt.Errorf("decode LoginSucceeded: %w", err))
		}
		meta := ev.GetMeta()
		var at time.Time
		if meta.GetOccurTime() != nil {
			at = clock.Normalize(meta.GetOccurTime().AsTime())
		}
		err := use.RecordLogin(ctx, bind(tx), meta.GetTenantId(), ev.GetAccountId(), at)
		if errs.Is(err, errs.KindInvalid) {
			return inbox.Permanent(err)
		}
		return err
	}
}
