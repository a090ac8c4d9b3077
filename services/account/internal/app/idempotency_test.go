package app_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/events"
	"github.com/latchkey/latchkey/libs/idempotency"
	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/libs/outbox"
	"github.com/latchkey/latchkey/libs/testkit"
	"github.com/latchkey/latchkey/services/account/internal/account"
	"github.com/latchkey/latchkey/services/account/internal/app"
	"github.com/latchkey/latchkey/services/account/internal/store"
	"github.com/latchkey/latchkey/services/account/internal/store/sqlstore"
)

// idempotencyFixture is the account use cases over a real database of one
// dialect, with an operator acting in tenant acme.
type idempotencyFixture struct {
	app   *app.App
	db    dbx.DB
	clk   *clock.Fake
	creds *countingCredentials
	op    *authn.Principal
	// tenantID is acme's.
	tenantID string
}

func newIdempotencyFixture(t *testing.T, db dbx.DB) *idempotencyFixture {
	t.Helper()
	clk := clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	creds := &countingCredentials{}
	a := app.New(sqlstore.New(db, outbox.New(db, clk, "account")), clk, creds, app.Options{})
	op := &authn.Principal{Kind: authn.KindOperatorToken, TenantCode: "acme"}
	tn, _, err := a.CreateTenant(context.Background(), op, app.CreateTenant{Code: "acme", Name: "Acme", Policy: account.DefaultPolicy()})
	if err != nil {
		t.Fatal(err)
	}
	return &idempotencyFixture{app: a, db: db, clk: clk, creds: creds, op: op, tenantID: tn.ID}
}

// events counts the outbox rows of subject.
func (f *idempotencyFixture) events(t *testing.T, subject string) int {
	t.Helper()
	var n int
	if err := f.db.QueryRow(context.Background(), "SELECT count(*) FROM outbox_events WHERE subject = $1", subject).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func wantKeyReused(t *testing.T, err error) {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind != errs.KindConflict || e.Reason != idempotency.ReasonKeyReused {
		t.Fatalf("error %v, want a conflict %s", err, idempotency.ReasonKeyReused)
	}
}

func jan(key, fingerprint string) app.NewAccount {
	return app.NewAccount{
		Username: "jan", Email: "jan@acme.example", DisplayName: "Jan", Roles: []account.Role{account.RoleUser},
		Activation: account.ActivationTemporaryPassword, TemporaryPassword: "Start-Here-2026x",
		Idempotency: idempotency.Request{Key: key, Fingerprint: fingerprint},
	}
}

// A create retried with its key answers the first account and makes
// nothing: no second account, event or temporary password. The same key
// with another request is refused; another caller's keys are its own; a
// key is free again after a day.
func TestCreateAccount_RetriedWithItsKey_AnswersTheFirst(t *testing.T) {
	testkit.EachMigratedDialect(t, "account", sqlstore.Migrate, func(t *testing.T, db dbx.DB) {
		ctx := context.Background()
		f := newIdempotencyFixture(t, db)
		first, err := f.app.CreateAccount(ctx, f.op, jan("k-1", "fp-jan"))
		if err != nil {
			t.Fatal(err)
		}
		f.clk.Advance(time.Minute)
		again, err := f.app.CreateAccount(ctx, f.op, jan("k-1", "fp-jan"))
		if err != nil {
			t.Fatalf("retry: %v", err)
		}
		if !reflect.DeepEqual(normalized(again), normalized(first)) {
			t.Fatalf("retry answered %+v, the first call %+v", again, first)
		}
		if n := f.events(t, events.AccountCreated); n != 1 {
			t.Fatalf("%d AccountCreated events, want 1", n)
		}
		if n := f.creds.temporary.Load(); n != 1 {
			t.Fatalf("the temporary password was sent %d times, want once", n)
		}

		piet := jan("k-1", "fp-piet")
		piet.Username, piet.Email = "piet", "piet@acme.example"
		_, err = f.app.CreateAccount(ctx, f.op, piet)
		wantKeyReused(t, err)

		// Another administrator of the tenant picked the same key.
		other := &authn.Principal{Kind: authn.KindAccount, AccountID: first.ID, TenantID: first.TenantID, Roles: []string{authn.RoleAdmin}}
		if _, err := f.app.CreateAccount(ctx, other, piet); err != nil {
			t.Fatalf("another caller's key: %v", err)
		}

		// A day later the key is the caller's to use again.
		f.clk.Advance(idempotency.TTL)
		kees := jan("k-1", "fp-kees")
		kees.Username, kees.Email = "kees", "kees@acme.example"
		if _, err := f.app.CreateAccount(ctx, f.op, kees); err != nil {
			t.Fatalf("a day later: %v", err)
		}
		if n := f.events(t, events.AccountCreated); n != 3 {
			t.Fatalf("%d AccountCreated events, want 3 (jan, piet, kees)", n)
		}
	})
}

// A hundred copies of one create with one key, at once (a client retrying
// hard after a lost answer): one account, and every copy gets it.
func TestCreateAccount_SameKeyConcurrently_OneAccountOneAnswer(t *testing.T) {
	testkit.EachMigratedDialect(t, "account", sqlstore.Migrate, func(t *testing.T, db dbx.DB) {
		ctx := context.Background()
		f := newIdempotencyFixture(t, db)
		cmd := jan("k-race", "fp-jan")
		cmd.Activation, cmd.TemporaryPassword = account.ActivationEmailLink, ""
		const n = 100
		answers := make([]*account.Account, n)
		errors := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				answers[i], errors[i] = f.app.CreateAccount(ctx, f.op, cmd)
			}()
		}
		close(start)
		wg.Wait()
		for i := range n {
			if errors[i] != nil {
				t.Fatalf("copy %d: %v", i, errors[i])
			}
			if !reflect.DeepEqual(normalized(answers[i]), normalized(answers[0])) {
				t.Fatalf("copy %d answered %+v, copy 0 %+v", i, answers[i], answers[0])
			}
		}
		list, _, err := f.app.ListAccounts(ctx, f.op, app.ListAccounts{Filter: "jan"})
		if err != nil || len(list) != 1 || list[0].ID != answers[0].ID {
			t.Fatalf("accounts named jan: %v, %v; want the one answered", list, err)
		}
		if c, i := f.events(t, events.AccountCreated), f.events(t, events.AccountInvited); c != 1 || i != 1 {
			t.Fatalf("%d AccountCreated and %d AccountInvited events, want one each", c, i)
		}
	})
}

// A tenant created again with its key is the first one, administrator
// included.
func TestCreateTenant_RetriedWithItsKey_AnswersTheFirst(t *testing.T) {
	testkit.EachMigratedDialect(t, "account", sqlstore.Migrate, func(t *testing.T, db dbx.DB) {
		ctx := context.Background()
		f := newIdempotencyFixture(t, db)
		cmd := app.CreateTenant{Code: "eshc", Name: "ESHC", Policy: account.DefaultPolicy(),
			FirstAdmin:  &app.NewAccount{Username: "admin@eshc.example", Email: "admin@eshc.example", DisplayName: "Admin"},
			Idempotency: idempotency.Request{Key: "tenant-eshc", Fingerprint: "fp-eshc"}}
		t1, a1, err := f.app.CreateTenant(ctx, f.op, cmd)
		if err != nil {
			t.Fatal(err)
		}
		t2, a2, err := f.app.CreateTenant(ctx, f.op, cmd)
		if err != nil {
			t.Fatalf("retry: %v", err)
		}
		if t2.ID != t1.ID || t2.Code != "eshc" || a2 == nil || !reflect.DeepEqual(normalized(a2), normalized(a1)) {
			t.Fatalf("retry answered %+v %+v, the first %+v %+v", t2, a2, t1, a1)
		}
		if n := f.events(t, events.TenantCreated); n != 2 { // acme and eshc
			t.Fatalf("%d TenantCreated events, want 2", n)
		}
		cmd.Name, cmd.Idempotency.Fingerprint = "Another", "fp-another"
		_, _, err = f.app.CreateTenant(ctx, f.op, cmd)
		wantKeyReused(t, err)
	})
}

// importCopy is one call of an import as the credential service makes it:
// fresh account ids (it stores the hashes under them), a check, then the
// creation, both with the administrator's key.
func (f *idempotencyFixture) importCopy(ctx context.Context, key app.ImportKey, usernames ...string) ([]app.ImportResult, error) {
	rows := make([]app.ImportRow, len(usernames))
	for i, u := range usernames {
		rows[i] = app.ImportRow{ID: ids.New(), Username: u, Email: u + "@acme.example", DisplayName: u, Pending: i == 0}
	}
	results, created, err := f.app.ImportAccounts(ctx, f.tenantID, rows, true, key)
	if err != nil || created {
		return results, err // a replay, or an error
	}
	for _, r := range results {
		if r.Err != nil {
			return results, r.Err
		}
	}
	results, created, err = f.app.ImportAccounts(ctx, f.tenantID, rows, false, key)
	if err == nil && !created {
		err = errors.New("import not created")
	}
	return results, err
}

// importedIDs are the ids of an import's accounts.
func importedIDs(results []app.ImportResult) []string {
	var out []string
	for _, r := range results {
		if r.Account != nil {
			out = append(out, r.Account.ID)
		}
	}
	return out
}

// An import retried with its key answers the first import's accounts and
// creates nothing (no account, event or invitation twice); the same key
// with another request is refused, and so is a key of CreateAccount.
func TestImportAccounts_RetriedWithItsKey_AnswersTheFirst(t *testing.T) {
	testkit.EachMigratedDialect(t, "account", sqlstore.Migrate, func(t *testing.T, db dbx.DB) {
		ctx := context.Background()
		f := newIdempotencyFixture(t, db)
		key := app.ImportKey{Scope: idempotency.Scope{Caller: "operator-token"},
			Request: idempotency.Request{Key: "import-1", Fingerprint: "fp-dik-eva"}}
		first, err := f.importCopy(ctx, key, "dik", "eva")
		if err != nil {
			t.Fatal(err)
		}
		f.clk.Advance(time.Minute)
		again, err := f.importCopy(ctx, key, "dik", "eva")
		if err != nil {
			t.Fatalf("retry: %v", err)
		}
		if ids := importedIDs(first); len(ids) != 2 || !reflect.DeepEqual(importedIDs(again), ids) {
			t.Fatalf("retry answered accounts %v, the first call %v", importedIDs(again), ids)
		}
		if c, i := f.events(t, events.AccountCreated), f.events(t, events.AccountInvited); c != 2 || i != 1 {
			t.Fatalf("%d AccountCreated and %d AccountInvited events, want 2 and 1", c, i)
		}

		other := key
		other.Request.Fingerprint = "fp-kees"
		_, err = f.importCopy(ctx, other, "kees")
		wantKeyReused(t, err)
		_, err = f.app.CreateAccount(ctx, f.op, jan("import-1", "fp-jan"))
		wantKeyReused(t, err)
	})
}

// A hundred copies of one import with one key, at once: one set of
// accounts, and every copy answers it.
func TestImportAccounts_SameKeyConcurrently_OneImportOneAnswer(t *testing.T) {
	testkit.EachMigratedDialect(t, "account", sqlstore.Migrate, func(t *testing.T, db dbx.DB) {
		ctx := context.Background()
		f := newIdempotencyFixture(t, db)
		key := app.ImportKey{Scope: idempotency.Scope{Caller: "operator-token"},
			Request: idempotency.Request{Key: "import-race", Fingerprint: "fp-dik-eva"}}
		const n = 100
		answers := make([][]string, n)
		errors := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				var results []app.ImportResult
				results, errors[i] = f.importCopy(ctx, key, "dik", "eva")
				answers[i] = importedIDs(results)
			}()
		}
		close(start)
		wg.Wait()
		for i := range n {
			if errors[i] != nil {
				t.Fatalf("copy %d: %v", i, errors[i])
			}
			if len(answers[i]) != 2 || !reflect.DeepEqual(answers[i], answers[0]) {
				t.Fatalf("copy %d answered accounts %v, copy 0 %v", i, answers[i], answers[0])
			}
		}
		list, _, err := f.app.ListAccounts(ctx, f.op, app.ListAccounts{Filter: "acme.example"})
		if err != nil || len(list) != 2 {
			t.Fatalf("accounts: %v, %v; want dik and eva once", list, err)
		}
		if c, i := f.events(t, events.AccountCreated), f.events(t, events.AccountInvited); c != 2 || i != 1 {
			t.Fatalf("%d AccountCreated and %d AccountInvited events, want 2 and 1", c, i)
		}
	})
}

// normalized is a copy of a whose times compare with ==, as they do after
// a trip through storage.
func normalized(a *account.Account) account.Account {
	c := *a
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return c
}

// lostReplyStore commits a transaction and then fails it, once armed, as
// PostgreSQL going down during the COMMIT does: the caller cannot know
// whether it committed.
type lostReplyStore struct {
	store.Store
	armed atomic.Bool
}

func (s *lostReplyStore) InTx(ctx context.Context, fn func(tx store.Tx) error) error {
	err := s.Store.InTx(ctx, fn)
	if err == nil && s.armed.Swap(false) {
		return fmt.Errorf("commit: %w", &pgconn.PgError{Severity: "FATAL", Code: "57P01", Message: "terminating connection due to administrator command"})
	}
	return err
}

// A create with a key whose commit was lost with the database answers
// Unavailable (try again): the repeat with the key answers the account it
// made, and nothing is made twice. Without a key the outcome stays an
// internal error: a repeat could make a second account.
func TestCreateAccount_CommitLost_RepeatableWithItsKey(t *testing.T) {
	ctx := context.Background()
	db := testkit.OpenMigrated(t, dbx.SQLite, "account", sqlstore.Migrate)
	clk := clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	st := &lostReplyStore{Store: sqlstore.New(db, outbox.New(db, clk, "account"))}
	a := app.New(st, clk, &countingCredentials{}, app.Options{})
	op := &authn.Principal{Kind: authn.KindOperatorToken, TenantCode: "acme"}
	if _, _, err := a.CreateTenant(ctx, op, app.CreateTenant{Code: "acme", Name: "Acme", Policy: account.DefaultPolicy()}); err != nil {
		t.Fatal(err)
	}
	st.armed.Store(true)
	if _, err := a.CreateAccount(ctx, op, jan("k-lost", "fp-jan")); !errs.Is(err, errs.KindUnavailable) {
		t.Fatalf("create with a key, commit lost: %v, want Unavailable", err)
	}
	again, err := a.CreateAccount(ctx, op, jan("k-lost", "fp-jan"))
	if err != nil || again.Username != "jan" {
		t.Fatalf("the repeat: %+v, %v", again, err)
	}
	piet := jan("", "")
	piet.Username, piet.Email = "piet", "piet@acme.example"
	st.armed.Store(true)
	if _, err := a.CreateAccount(ctx, op, piet); err == nil || errs.Is(err, errs.KindUnavailable) {
		t.Fatalf("create without a key, commit lost: %v, want an internal error", err)
	}
}
