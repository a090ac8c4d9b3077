package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/textproto"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/outbox"
	"github.com/latchkey/latchkey/libs/testkit"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
	"github.com/latchkey/latchkey/services/notification/internal/app"
	"github.com/latchkey/latchkey/services/notification/internal/delivery"
	"github.com/latchkey/latchkey/services/notification/internal/events"
	"github.com/latchkey/latchkey/services/notification/internal/mailer"
	"github.com/latchkey/latchkey/services/notification/internal/store"
	"github.com/latchkey/latchkey/services/notification/internal/store/sqlstore"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// stepClock moves on a millisecond at every reading, so two readings are
// never the same instant: a time read before a transaction cannot pass for
// one read inside it.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.t
	c.t = c.t.Add(time.Millisecond)
	return t
}

// peek is the next reading, without taking it.
func (c *stepClock) peek() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// emitted is an event with the clock's reading when its transaction began.
type emitted struct {
	ev      store.Event
	txBegan time.Time
}

// watchedStore is the real store, noting when each transaction begins and
// which events it emits.
type watchedStore struct {
	store.Store
	clk *stepClock
	mu  sync.Mutex
	evs []emitted
}

func (w *watchedStore) InTx(ctx context.Context, fn func(tx store.Tx) error) error {
	return w.Store.InTx(ctx, func(tx store.Tx) error {
		return fn(&watchedTx{Tx: tx, w: w, began: w.clk.peek()})
	})
}

func (w *watchedStore) reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.evs = nil
}

func (w *watchedStore) events() []emitted {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]emitted(nil), w.evs...)
}

type watchedTx struct {
	store.Tx
	w     *watchedStore
	began time.Time
}

func (t *watchedTx) Emit(ctx context.Context, ev store.Event) error {
	t.w.mu.Lock()
	t.w.evs = append(t.w.evs, emitted{ev, t.began})
	t.w.mu.Unlock()
	return t.Tx.Emit(ctx, ev)
}

// senderFunc is a mailer.Sender.
type senderFunc func(e *mailer.Envelope) error

func (f senderFunc) Send(_ context.Context, e *mailer.Envelope) error { return f(e) }

// An event is stamped with the time of its change: the same instant as the
// delivery row's update, read inside the transaction that writes both
// (not before it, when waiting for the database would make it early).
func TestDeliverDue_EventTimeIsTheTimeOfTheChange(t *testing.T) {
	const tenant = "0193a000-0000-7000-8000-000000000001"
	for _, c := range []struct {
		name    string
		to      string
		send    error
		subject string
		status  delivery.Status
	}{
		{"sent", "ok@example.com", nil, events.SubjectNotificationSent, delivery.Sent},
		{"smtp refuses", "gone@example.com", &textproto.Error{Code: 550, Msg: "no such mailbox"}, events.SubjectNotificationFailed, delivery.Failed},
		{"rate limited", "limited@example.com", nil, events.SubjectNotificationFailed, delivery.RateLimited},
	} {
		t.Run(c.name, func(t *testing.T) {
			testkit.EachMigratedDialect(t, "notification", sqlstore.Migrate, func(t *testing.T, db dbx.DB) {
				ctx := context.Background()
				clk := &stepClock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
				st := &watchedStore{Store: sqlstore.New(db, outbox.New(db, clock.System{}, "notification")), clk: clk}
				use := app.New(st, clk, nil, senderFunc(func(*mailer.Envelope) error { return c.send }), app.Options{
					Limits: store.Limits{PerRecipient: 1, Window: time.Hour},
					Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
				})
				send := func(requestID string) *delivery.Delivery {
					t.Helper()
					d, err := use.SendNotification(ctx, delivery.Request{
						RequestID: requestID, TenantID: tenant, Template: delivery.PasswordChanged, RecipientAddress: c.to,
					})
					if err != nil {
						t.Fatal(err)
					}
					if n, err := use.DeliverDue(ctx); err != nil || n != 1 {
						t.Fatalf("DeliverDue = %d, %v", n, err)
					}
					return d
				}
				if c.status == delivery.RateLimited {
					send("first") // the recipient's one e-mail of the hour
					st.reset()
				}
				d := send("r1")
				got, err := st.Get(ctx, d.ID)
				if err != nil || got.Status != c.status {
					t.Fatalf("delivery %+v, %v; want %s", got, err, c.status)
				}
				evs := st.events()
				if len(evs) != 1 || evs[0].ev.Subject != c.subject {
					t.Fatalf("events %+v, want one %s", evs, c.subject)
				}
				at := evs[0].ev.Message.(interface{ GetMeta() *eventsv1.EventMeta }).GetMeta().GetOccurTime().AsTime()
				if !at.Equal(got.UpdatedAt) {
					t.Errorf("event time %v, delivery changed at %v: want the same instant", at, got.UpdatedAt)
				}
				if at.Before(evs[0].txBegan) {
					t.Errorf("event time %v was read before its transaction began (%v)", at, evs[0].txBegan)
				}
			})
		})
	}
}

// directory is the account service as the worker sees it: one tenant, one
// account, and a count of the accounts read.
type directory struct {
	mu    sync.Mutex
	reads int
}

func (d *directory) Tenant(_ context.Context, id string) (*app.Tenant, error) {
	return &app.Tenant{ID: id, Code: "acme", Name: "Acme", Locale: "en"}, nil
}

func (d *directory) Account(_ context.Context, _, id string) (*app.Account, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.reads++
	return &app.Account{ID: id, Email: "stored@example.com", DisplayName: "Stored Name", Locale: "nl"}, nil
}

// A request naming its recipient in full (an invitation: the event said
// where) is sent as it says without reading the account; one naming only
// the account is sent to the account's address, in its locale.
func TestDeliverDue_AccountReadOnlyWhenTheRequestDoesNotSayWhere(t *testing.T) {
	const tenant = "0193a000-0000-7000-8000-000000000001"
	testkit.EachMigratedDialect(t, "notification", sqlstore.Migrate, func(t *testing.T, db dbx.DB) {
		ctx := context.Background()
		dir := &directory{}
		var (
			mu   sync.Mutex
			sent = map[string]*mailer.Envelope{}
		)
		use := app.New(sqlstore.New(db, outbox.New(db, clock.System{}, "notification")), clock.System{}, dir,
			senderFunc(func(e *mailer.Envelope) error { mu.Lock(); sent[e.To] = e; mu.Unlock(); return nil }),
			app.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		for i, to := range []string{"given@example.com", ""} {
			_, err := use.SendNotification(ctx, delivery.Request{RequestID: fmt.Sprint("r", i), TenantID: tenant,
				AccountID: fmt.Sprintf("0193a000-0000-7000-8000-00000000010%d", i), Template: delivery.Activation,
				RecipientAddress: to, RecipientName: map[bool]string{true: "Given Name"}[to != ""],
				Variables: map[string]string{"token": "t", "expire_time": "2026-12-10T09:00:00Z"}})
			if err != nil {
				t.Fatal(err)
			}
		}
		if n, err := use.DeliverDue(ctx); err != nil || n != 2 {
			t.Fatalf("delivered %d, %v", n, err)
		}
		given, stored := sent["given@example.com"], sent["stored@example.com"]
		if given == nil || given.ToName != "Given Name" || stored == nil || stored.ToName != "Stored Name" {
			t.Fatalf("sent %v; want one to the given recipient, one to the account's", sent)
		}
		if given.Message.Language != "en" || stored.Message.Language != "nl" {
			t.Fatalf("locales %q (given) and %q (account's); want the tenant's and the account's", given.Message.Language, stored.Message.Language)
		}
		if dir.reads != 1 {
			t.Fatalf("%d accounts read; want one, for the request that did not say where", dir.reads)
		}
	})
}
