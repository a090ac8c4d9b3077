package app_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/libs/natsx"
	"github.com/latchkey/latchkey/libs/outbox"
	"github.com/latchkey/latchkey/libs/passhash"
	"github.com/latchkey/latchkey/libs/testkit"
	notificationinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/notification/v1"
	"github.com/latchkey/latchkey/services/recovery/internal/app"
	"github.com/latchkey/latchkey/services/recovery/internal/store/sqlstore"
)

func TestMain(m *testing.M) { testkit.Main(m) }

var t0 = time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)

// harness is the app over a real store (one dialect) with fake peers.
type harness struct {
	t     *testing.T
	db    dbx.DB
	app   *app.App
	clock *clock.Fake
	st    *sqlstore.Store
	dir   *fakeDir
	cred  *fakeCred
	mfa   *fakeMFA
	// the tenant and its accounts
	tenant *app.Tenant
}

func newHarness(t *testing.T, dialect dbx.Dialect) *harness {
	db := testkit.OpenMigrated(t, dialect, "recovery", sqlstore.Migrate)
	clk := clock.NewFake(t0)
	box := outbox.New(db, clk, "recovery")
	h := &harness{t: t, db: db, clock: clk,
		dir:  &fakeDir{accounts: map[string]*app.Account{}, tenants: map[string]*app.Tenant{}},
		cred: &fakeCred{passwords: map[string]string{}},
		mfa:  &fakeMFA{code: "123456", needs: map[string]bool{}},
	}
	h.tenant = &app.Tenant{ID: ids.New(), Code: "acme", Policy: app.Policy{EmailLink: true, QuestionsRequired: 1,
		Rules: app.PasswordRules{MinLength: 10}}}
	h.dir.tenants[h.tenant.ID] = h.tenant
	h.cred.dir = h.dir
	hasher := passhash.NewHasher(passhash.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 2, 64)
	h.st = sqlstore.New(db, box)
	h.app = app.New(app.Deps{Store: h.st, Clock: clk, Accounts: h.dir, Credentials: h.cred, Factors: h.mfa, Hasher: hasher},
		app.Options{})
	return h
}

func eachDialect(t *testing.T, fn func(t *testing.T, h *harness)) {
	for _, d := range testkit.Dialects {
		t.Run(string(d), func(t *testing.T) { fn(t, newHarness(t, d)) })
	}
}

func (h *harness) account(username, status string) *app.Account {
	a := &app.Account{ID: ids.New(), TenantID: h.tenant.ID, TenantCode: h.tenant.Code, Username: username, Status: status, Roles: []string{"USER"}}
	h.dir.mu.Lock()
	h.dir.accounts[a.ID] = a
	h.dir.mu.Unlock()
	return a
}

// mails returns the e-mail requests written to the outbox, in order.
func (h *harness) mails() []*notificationinternalv1.SendNotificationRequest {
	h.t.Helper()
	rows, err := h.db.Query(context.Background(), `SELECT payload FROM outbox_events WHERE subject = $1 ORDER BY seq`, natsx.NotifySendSubject)
	if err != nil {
		h.t.Fatal(err)
	}
	defer rows.Close()
	var out []*notificationinternalv1.SendNotificationRequest
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			h.t.Fatal(err)
		}
		var m notificationinternalv1.SendNotificationRequest
		if err := proto.Unmarshal(b, &m); err != nil {
			h.t.Fatal(err)
		}
		out = append(out, &m)
	}
	return out
}

// lastToken is the token of the newest e-mail to account.
func (h *harness) lastToken(accountID string) string {
	h.t.Helper()
	ms := h.mails()
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].GetAccountId() == accountID {
			return ms[i].GetVariables()["token"]
		}
	}
	h.t.Fatalf("no e-mail to %s", accountID)
	return ""
}

// events counts the outbox's events of subject.
func (h *harness) events(subject string) int {
	h.t.Helper()
	var n int
	if err := h.db.QueryRow(context.Background(), `SELECT COUNT(*) FROM outbox_events WHERE subject = $1`, subject).Scan(&n); err != nil {
		h.t.Fatal(err)
	}
	return n
}

// resetLink has the worker e-mail a reset link to a, and returns it.
func (h *harness) resetLink(a *app.Account) string {
	h.t.Helper()
	ctx := context.Background()
	if err := h.app.RequestPasswordReset(ctx, h.tenant.Code, a.Username); err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.app.ProcessResetRequests(ctx); err != nil {
		h.t.Fatal(err)
	}
	return h.lastToken(a.ID)
}

func (h *harness) user(a *app.Account, authAgo time.Duration) *authn.Principal {
	return &authn.Principal{Kind: authn.KindAccount, AccountID: a.ID, TenantID: a.TenantID, Roles: a.Roles,
		AuthTime: h.clock.Now().Add(-authAgo)}
}

func reason(err error) string {
	var e *errs.Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

type fakeDir struct {
	mu        sync.Mutex
	accounts  map[string]*app.Account
	tenants   map[string]*app.Tenant
	activated []string
	released  []string
	// notes are the NoteSecurityChange calls ("tenant/account"); noteErr
	// fails them (noted all the same); onNote runs in each, outside mu.
	notes   []string
	noteErr error
	onNote  func(tenantID, accountID string)
}

func (d *fakeDir) ResolveLogin(_ context.Context, code, login string) (*app.Account, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, a := range d.accounts {
		if a.Username == login && d.tenants[a.TenantID].Code == code {
			c := *a
			return &c, nil
		}
	}
	return nil, errs.NotFound("ACCOUNT_NOT_FOUND", "no such account")
}

func (d *fakeDir) Lookup(_ context.Context, tenantID, id string) (*app.Account, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	a, ok := d.accounts[id]
	if !ok || a.TenantID != tenantID {
		return nil, errs.NotFound("ACCOUNT_NOT_FOUND", "no such account")
	}
	c := *a
	return &c, nil
}

func (d *fakeDir) Tenant(_ context.Context, id string) (*app.Tenant, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, ok := d.tenants[id]
	if !ok {
		return nil, errs.NotFound("TENANT_NOT_FOUND", "no such tenant")
	}
	c := *t
	return &c, nil
}

func (d *fakeDir) TenantByCode(_ context.Context, code string) (*app.Tenant, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, t := range d.tenants {
		if t.Code == code {
			c := *t
			return &c, nil
		}
	}
	return nil, errs.NotFound("TENANT_NOT_FOUND", "no such tenant")
}

func (d *fakeDir) MarkActivated(_ context.Context, _, id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.activated = append(d.activated, id)
	if a := d.accounts[id]; a != nil && a.Status == app.StatusPending {
		a.Status = app.StatusActive
	}
	return nil
}

func (d *fakeDir) ReleaseLockout(_ context.Context, _, id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.released = append(d.released, id)
	return nil
}

func (d *fakeDir) NoteSecurityChange(_ context.Context, tenantID, accountID string) error {
	d.mu.Lock()
	d.notes = append(d.notes, tenantID+"/"+accountID)
	err, onNote := d.noteErr, d.onNote
	d.mu.Unlock()
	if onNote != nil {
		onNote(tenantID, accountID)
	}
	return err
}

// noted returns the NoteSecurityChange calls so far.
func (d *fakeDir) noted() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.notes)
}

// fakeCred refuses passwords shorter than 10 characters, like a policy.
type fakeCred struct {
	mu        sync.Mutex
	dir       *fakeDir
	passwords map[string]string
	initial   []string
	failed    []string // reasons
}

func (c *fakeCred) set(id, pw string, initial bool) error {
	if len(pw) < 10 {
		return errs.Invalid(errs.Field("newPassword", "PASSWORD_TOO_SHORT", "at least 10 characters"))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.passwords[id] = pw
	if initial {
		c.initial = append(c.initial, id)
	}
	return nil
}

func (c *fakeCred) SetInitialPassword(_ context.Context, _, id, pw string) error {
	return c.set(id, pw, true)
}
func (c *fakeCred) SetPasswordAfterReset(_ context.Context, _, id, pw string) error {
	return c.set(id, pw, false)
}

func (c *fakeCred) RecordFailedAttempt(_ context.Context, _, _, reason string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failed = append(c.failed, reason)
	return nil
}

func (c *fakeCred) password(id string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.passwords[id]
}

type fakeMFA struct {
	mu    sync.Mutex
	code  string
	needs map[string]bool
	err   error
}

func (m *fakeMFA) NeedsCode(_ context.Context, _, id string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.needs[id], m.err
}

func (m *fakeMFA) Verify(_ context.Context, _, _, code string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return code == m.code, m.err
}
