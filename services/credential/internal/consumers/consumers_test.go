package consumers_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/events"
	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/libs/outbox"
	"github.com/latchkey/latchkey/libs/testkit"
	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
	"github.com/latchkey/latchkey/services/credential/internal/app"
	"github.com/latchkey/latchkey/services/credential/internal/consumers"
	"github.com/latchkey/latchkey/services/credential/internal/credential"
	"github.com/latchkey/latchkey/services/credential/internal/store"
	"github.com/latchkey/latchkey/services/credential/internal/store/sqlstore"
	"github.com/latchkey/latchkey/services/credential/internal/token"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// msg is a delivered event: only its payload is read.
type msg struct {
	jetstream.Msg
	data []byte
}

func (m msg) Data() []byte { return m.data }

// An account event that says the sessions may no longer be used ends the
// ones begun before it, once: a second delivery, or the account service's
// direct call having ended them already, changes nothing and says nothing
// more; a session begun after the change stays, and an event that changes
// nothing about access ends nothing.
func TestSessionEnders_EndTheSessionsOfAChangeOnce(t *testing.T) {
	testkit.EachMigratedDialect(t, "credential", sqlstore.Migrate, func(t *testing.T, db dbx.DB) {
		ctx := context.Background()
		clk := clock.NewFake(time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC))
		st := sqlstore.New(db, outbox.New(db, clk, "credential"))
		issuer, err := token.NewIssuer(token.NewMemoryKeyStore(), clk, token.Options{Issuer: "test", Audience: "test",
			Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		use := app.New(app.Deps{Store: st, Clock: clk, Issuer: issuer})
		handlers := map[string]consumers.Consumer{}
		for _, c := range consumers.SessionEnders(use, st.Bind) {
			handlers[c.Config.FilterSubject] = c
		}
		tenant := ids.New()
		login := func(acct string) string {
			t.Helper()
			s := &credential.Session{ID: ids.New(), TenantID: tenant, AccountID: acct, AMR: []string{"pwd"},
				AuthTime: clk.Now(), CreatedAt: clk.Now(), LastUsedAt: clk.Now()}
			if err := st.InTx(ctx, func(tx store.Tx) error { return tx.CreateSession(ctx, s) }); err != nil {
				t.Fatal(err)
			}
			return s.ID
		}
		deliver := func(subject string, ev proto.Message) {
			t.Helper()
			data, err := proto.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.InTx(ctx, func(tx dbx.Tx) error { return handlers[subject].Handler(ctx, tx, msg{data: data}) }); err != nil {
				t.Fatal(err)
			}
		}
		live := func(acct string) int {
			t.Helper()
			ss, err := st.ListSessions(ctx, tenant, acct)
			if err != nil {
				t.Fatal(err)
			}
			return len(ss)
		}
		revokedEvents := func() int {
			t.Helper()
			var n int
			if err := db.QueryRow(ctx, "SELECT count(*) FROM outbox_events WHERE subject = $1", events.SessionRevoked).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		meta := func() *eventsv1.EventMeta { return events.NewMeta(tenant, events.ActorOf(nil, ""), clk.Now()) }

		for _, tc := range []struct {
			name    string
			subject string
			event   func(acct string) proto.Message
			ends    bool
		}{
			{"roles changed", events.AccountUpdated, func(acct string) proto.Message {
				return &eventsv1.AccountUpdated{Meta: meta(), AccountId: acct, ChangedFields: []string{"display_name", "roles"},
					Roles: []accountv1.Role_Value{accountv1.Role_USER}}
			}, true},
			{"profile changed", events.AccountUpdated, func(acct string) proto.Message {
				return &eventsv1.AccountUpdated{Meta: meta(), AccountId: acct, ChangedFields: []string{"display_name"}}
			}, false},
			{"locked by an administrator", events.AccountLocked, func(acct string) proto.Message {
				return &eventsv1.AccountLocked{Meta: meta(), AccountId: acct, Reason: accountv1.LockReason_ADMIN}
			}, true},
			{"locked for inactivity", events.AccountLocked, func(acct string) proto.Message {
				return &eventsv1.AccountLocked{Meta: meta(), AccountId: acct, Reason: accountv1.LockReason_INACTIVITY}
			}, true},
			{"locked out after failed log-ins", events.AccountLocked, func(acct string) proto.Message {
				return &eventsv1.AccountLocked{Meta: meta(), AccountId: acct, Reason: accountv1.LockReason_FAILED_ATTEMPTS}
			}, false},
			{"disabled", events.AccountDisabled, func(acct string) proto.Message {
				return &eventsv1.AccountDisabled{Meta: meta(), AccountId: acct}
			}, true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				acct, other := ids.New(), ids.New()
				login(acct)
				login(acct)
				login(other)
				clk.Advance(time.Second)
				ev := tc.event(acct)
				before := revokedEvents()
				deliver(tc.subject, ev)
				want := 2
				if tc.ends {
					want = 0
				}
				if got := live(acct); got != want {
					t.Fatalf("%d live sessions after the event, want %d", got, want)
				}
				if live(other) != 1 {
					t.Fatal("another account's session ended")
				}
				if got := revokedEvents() - before; got != 2-want {
					t.Fatalf("%d SessionRevoked events, want %d", got, 2-want)
				}
				// Delivered again after a new log-in: nothing more ends.
				clk.Advance(time.Second)
				login(acct)
				deliver(tc.subject, ev)
				if got := live(acct); got != want+1 {
					t.Fatalf("%d live sessions after a second delivery, want %d", got, want+1)
				}
				if got := revokedEvents() - before; got != 2-want {
					t.Fatalf("%d SessionRevoked events after a second delivery, want %d", got, 2-want)
				}
			})
		}
	})
}
