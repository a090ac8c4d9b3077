package app_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/outbox"
	"github.com/latchkey/latchkey/libs/testkit"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
	"github.com/latchkey/latchkey/services/account/internal/account"
	"github.com/latchkey/latchkey/services/account/internal/app"
	"github.com/latchkey/latchkey/services/account/internal/store"
	"github.com/latchkey/latchkey/services/account/internal/store/sqlstore"
)

// tickingClock moves on a millisecond at every reading, and further when
// told, so a time read too early shows.
type tickingClock struct{ fake *clock.Fake }

func (c tickingClock) Now() time.Time { return c.fake.Advance(time.Millisecond) }

// peek reads the clock without moving it.
func (c tickingClock) peek() time.Time { return c.fake.Now() }

func (c tickingClock) advance(d time.Duration) { c.fake.Advance(d) }

// slowCredentials stands in for the credential service; each call takes a
// second of the clock (a password hash, a slow network).
type slowCredentials struct{ clk tickingClock }

func (c slowCredentials) SetTemporary(context.Context, *account.Account, string, *account.PasswordPolicy) error {
	c.clk.advance(time.Second)
	return nil
}

func (c slowCredentials) RevokeAllSessions(context.Context, string, string, string) error {
	c.clk.advance(time.Second)
	return nil
}

func (c slowCredentials) ClearFailedAttempts(context.Context, string, string) error {
	c.clk.advance(time.Second)
	return nil
}

func (c slowCredentials) PasswordSummary(context.Context, string, string) (*account.PasswordSummary, error) {
	return nil, nil
}

// recordingStore notes, for every committed transaction, the clock when it
// began, the times of the rows it wrote and of the events it emitted.
type recordingStore struct {
	store.Store
	clk tickingClock
	mu  sync.Mutex
	txs []*recordingTx
}

type recordingTx struct {
	store.Tx
	began  time.Time
	rows   []time.Time
	events []time.Time
	emits  []store.Event
}

func (s *recordingStore) InTx(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.InTx(ctx, func(tx store.Tx) error {
		r := &recordingTx{Tx: tx, began: s.clk.peek()}
		if err := fn(r); err != nil {
			return err
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.txs = append(s.txs, r)
		return nil
	})
}

// take returns the transactions committed since the last call.
func (s *recordingStore) take() []*recordingTx {
	s.mu.Lock()
	defer s.mu.Unlock()
	txs := s.txs
	s.txs = nil
	return txs
}

func (r *recordingTx) CreateTenant(ctx context.Context, t *account.Tenant) error {
	r.rows = append(r.rows, t.CreatedAt, t.UpdatedAt)
	return r.Tx.CreateTenant(ctx, t)
}

func (r *recordingTx) UpdateTenant(ctx context.Context, t *account.Tenant) error {
	r.rows = append(r.rows, t.UpdatedAt)
	return r.Tx.UpdateTenant(ctx, t)
}

func (r *recordingTx) CreateAccount(ctx context.Context, a *account.Account) error {
	r.rows = append(r.rows, a.CreatedAt, a.UpdatedAt)
	if a.ActivatedAt != nil {
		r.rows = append(r.rows, *a.ActivatedAt)
	}
	return r.Tx.CreateAccount(ctx, a)
}

func (r *recordingTx) CreateAccounts(ctx context.Context, accts []*account.Account) (int, error) {
	for _, a := range accts {
		r.rows = append(r.rows, a.CreatedAt, a.UpdatedAt)
		if a.ActivatedAt != nil {
			r.rows = append(r.rows, *a.ActivatedAt)
		}
	}
	return r.Tx.CreateAccounts(ctx, accts)
}

func (r *recordingTx) UpdateAccount(ctx context.Context, a *account.Account) error {
	r.rows = append(r.rows, a.UpdatedAt)
	return r.Tx.UpdateAccount(ctx, a)
}

func (r *recordingTx) LockInactive(ctx context.Context, tenantID string, cutoff time.Time, after string, limit int, at time.Time) ([]*account.Account, string, error) {
	locked, last, err := r.Tx.LockInactive(ctx, tenantID, cutoff, after, limit, at)
	for _, a := range locked {
		r.rows = append(r.rows, a.UpdatedAt)
	}
	return locked, last, err
}

func (r *recordingTx) Emit(ctx context.Context, ev store.Event) error {
	r.note(ev)
	return r.Tx.Emit(ctx, ev)
}

func (r *recordingTx) EmitAll(ctx context.Context, evs []store.Event) error {
	for _, ev := range evs {
		r.note(ev)
	}
	return r.Tx.EmitAll(ctx, evs)
}

func (r *recordingTx) note(ev store.Event) {
	r.emits = append(r.emits, ev)
	r.events = append(r.events, ev.Message.(interface{ GetMeta() *eventsv1.EventMeta }).GetMeta().GetOccurTime().AsTime())
}

// newRecordingApp returns the use cases over a migrated SQLite store that
// records its transactions, a ticking clock and a slow credential service.
func newRecordingApp(t *testing.T, batch int) (*app.App, *recordingStore, tickingClock) {
	t.Helper()
	ctx := context.Background()
	db := testkit.OpenSQLite(t, "account")
	if err := sqlstore.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	clk := tickingClock{clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))}
	st := &recordingStore{Store: sqlstore.New(db, outbox.New(db, clk, "account")), clk: clk}
	return app.New(st, clk, slowCredentials{clk}, app.Options{SweepBatch: batch}), st, clk
}
