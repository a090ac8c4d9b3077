package app_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/ids"
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
type tickingClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *tickingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Millisecond)
	return c.now
}

// peek reads the clock without moving it.
func (c *tickingClock) peek() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *tickingClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// slowCredentials stands in for the credential service; each call takes a
// second of the clock (a password hash, a slow network).
type slowCredentials struct{ clk *tickingClock }

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
	clk *tickingClock
	mu  sync.Mutex
	txs []*recordingTx
}

type recordingTx struct {
	store.Tx
	began  time.Time
	rows   []time.Time
	events []time.Time
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
	r.events = append(r.events, ev.Message.(interface{ GetMeta() *eventsv1.EventMeta }).GetMeta().GetOccurTime().AsTime())
}

// TestEvents_CarryTheTimeOfTheirChange runs every use case that writes
// events with a clock that moves on at each reading and a credential
// service that takes a second per call. Every event must carry the time
// of the change it reports: the time its rows were written with, read
// inside the transaction (not before the transaction began, e.g. before
// the call to the credential service).
func TestEvents_CarryTheTimeOfTheirChange(t *testing.T) {
	ctx := context.Background()
	db := testkit.OpenSQLite(t, "account")
	if err := sqlstore.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	clk := &tickingClock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	st := &recordingStore{Store: sqlstore.New(db, outbox.New(db, clk, "account")), clk: clk}
	a := app.New(st, clk, slowCredentials{clk}, app.Options{SweepBatch: 1})
	op := &authn.Principal{Kind: authn.KindOperatorToken, TenantCode: "acme"}
	const temporary = "Temporary-Passw0rd!"
	var (
		admin, invited *account.Account
		imported       []string
	)

	steps := []struct {
		name   string
		events int // at least this many
		run    func() error
	}{
		{"create tenant with its first admin", 2, func() error {
			policy := account.DefaultPolicy()
			policy.InactivityLockDays = 30
			_, fa, err := a.CreateTenant(ctx, op, app.CreateTenant{Code: "acme", Name: "Acme", Policy: policy, FirstAdmin: &app.NewAccount{
				Username: "ann", Email: "ann@acme.example", DisplayName: "Ann",
				Activation: account.ActivationTemporaryPassword, TemporaryPassword: temporary,
			}})
			admin = fa
			return err
		}},
		{"create an account with a temporary password", 1, func() error {
			_, err := a.CreateAccount(ctx, op, app.NewAccount{Username: "bob", Email: "bob@acme.example", DisplayName: "Bob",
				Roles: []account.Role{account.RoleUser}, Activation: account.ActivationTemporaryPassword, TemporaryPassword: temporary})
			return err
		}},
		{"invite an account", 2, func() error {
			var err error
			invited, err = a.CreateAccount(ctx, op, app.NewAccount{Username: "cas", Email: "cas@acme.example", DisplayName: "Cas",
				Roles: []account.Role{account.RoleClient}})
			return err
		}},
		{"activate it", 1, func() error {
			_, err := a.MarkActivated(ctx, invited.TenantID, invited.ID)
			return err
		}},
		{"import accounts", 2, func() error {
			rows := []app.ImportRow{
				{ID: ids.New(), Username: "dik", Email: "dik@acme.example", DisplayName: "Dik"},
				{ID: ids.New(), Username: "eva", Email: "eva@acme.example", DisplayName: "Eva"},
			}
			_, created, err := a.ImportAccounts(ctx, admin.TenantID, rows, false)
			if err == nil && !created {
				t.Fatal("import refused")
			}
			imported = []string{rows[0].ID, rows[1].ID}
			return err
		}},
		{"lock an account", 1, func() error {
			_, err := a.LockAccount(ctx, op, imported[0], "")
			return err
		}},
		{"unlock it", 1, func() error {
			_, err := a.UnlockAccount(ctx, op, imported[0], "")
			return err
		}},
		{"change a username", 1, func() error {
			_, err := a.ChangeUsername(ctx, op, imported[1], "eva2")
			return err
		}},
		{"change the tenant policy", 1, func() error {
			_, err := a.UpdateTenantPolicy(ctx, op, func(p *account.Policy) { p.Lockout.MaxFailedAttempts = 3 })
			return err
		}},
		{"publish terms", 1, func() error {
			_, err := a.PublishTerms(ctx, op, "v1", "Be nice.")
			return err
		}},
		{"sweep inactive accounts, a batch at a time", 4, func() error {
			clk.advance(31 * 24 * time.Hour)
			_, err := a.SweepInactive(ctx)
			return err
		}},
		{"bootstrap the operator", 2, func() error {
			_, err := a.BootstrapOperator(ctx, app.OperatorAccount{TenantCode: "platform", Username: "op", Email: "op@platform.example"})
			return err
		}},
	}
	for _, step := range steps {
		if err := step.run(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		n := 0
		for i, tx := range st.take() {
			n += len(tx.events)
			rows := map[time.Time]bool{}
			for _, r := range tx.rows {
				rows[r] = true
			}
			for _, at := range tx.events {
				if at.Before(tx.began) {
					t.Errorf("%s, transaction %d: event at %v, before its transaction began (%v)", step.name, i, at, tx.began)
				}
				if !rows[at] {
					t.Errorf("%s, transaction %d: event at %v, but its rows were written at %v", step.name, i, at, tx.rows)
				}
			}
		}
		if n < step.events {
			t.Errorf("%s: %d events, want at least %d", step.name, n, step.events)
		}
	}
}
