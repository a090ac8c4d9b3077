package app_test

import (
	"context"
	"encoding/base32"
	"errors"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/libs/keyring"
	"github.com/latchkey/latchkey/libs/outbox"
	"github.com/latchkey/latchkey/libs/passhash"
	"github.com/latchkey/latchkey/libs/testkit"
	"github.com/latchkey/latchkey/services/mfa/internal/app"
	"github.com/latchkey/latchkey/services/mfa/internal/factor"
	"github.com/latchkey/latchkey/services/mfa/internal/store/sqlstore"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// t0 is in the middle of a time step, so ±1 step stays within its
// neighbours.
var t0 = time.Date(2026, 12, 2, 10, 0, 15, 0, time.UTC)

// cheap is an Argon2id cost for tests (the real one is per deployment).
var cheap = passhash.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// directory is a stand-in for the account service.
type directory struct {
	mu       sync.Mutex
	tenants  map[string]*app.Tenant
	accounts map[string]*app.Account
	// notes are the NoteSecurityChange calls, each with the status the
	// account service would read when it asks again at that moment
	// (statusOf); noteFail is their answer.
	notes    []note
	noteFail error
	statusOf func(ctx context.Context, tenantID, accountID string) (*app.FactorStatus, error)
}

// note is a NoteSecurityChange call the stand-in account service got.
type note struct {
	tenantID, accountID string
	// status is GetFactorStatus's answer at the time of the call.
	status app.FactorStatus
}

func (d *directory) NoteSecurityChange(ctx context.Context, tenantID, accountID string) error {
	st, err := d.statusOf(ctx, tenantID, accountID)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.notes = append(d.notes, note{tenantID, accountID, *st})
	return d.noteFail
}

// takeNotes returns the notes so far and forgets them.
func (d *directory) takeNotes() []note {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := d.notes
	d.notes = nil
	return n
}

func (d *directory) Tenant(_ context.Context, id string) (*app.Tenant, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if t, ok := d.tenants[id]; ok {
		c := *t
		return &c, nil
	}
	return nil, errs.NotFound("TENANT_NOT_FOUND", "no such tenant")
}

func (d *directory) TenantByCode(_ context.Context, code string) (*app.Tenant, error) {
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

func (d *directory) Account(_ context.Context, tenantID, id string) (*app.Account, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if a, ok := d.accounts[id]; ok && a.TenantID == tenantID {
		c := *a
		return &c, nil
	}
	return nil, errs.NotFound("ACCOUNT_NOT_FOUND", "no such account")
}

func (d *directory) ResolveLogin(ctx context.Context, code, login string) (*app.Account, *app.Tenant, error) {
	t, err := d.TenantByCode(ctx, code)
	if err != nil {
		return nil, nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, a := range d.accounts {
		if a.TenantID == t.ID && strings.EqualFold(a.Username, login) {
			c := *a
			return &c, t, nil
		}
	}
	return nil, nil, errs.NotFound("ACCOUNT_NOT_FOUND", "no such account")
}

// sentKey is a key e-mail the stand-in notification service got.
type sentKey struct{ requestID, tenantID, accountID, secret, uri string }

type mailer struct {
	mu   sync.Mutex
	sent []sentKey
	fail error
}

func (m *mailer) SendKey(_ context.Context, requestID, tenantID, accountID, secret, uri string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.sent = append(m.sent, sentKey{requestID, tenantID, accountID, secret, uri})
	return nil
}

func (m *mailer) all() []sentKey {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]sentKey(nil), m.sent...)
}

// harness is the use cases over a real store of one dialect, with one
// tenant ("eshc", skew 1) holding a user, an admin and an operator.
type harness struct {
	t        *testing.T
	use      *app.App
	clk      *clock.Fake
	dir      *directory
	mail     *mailer
	pending  func(context.Context) (int, error)
	ring     *keyring.Ring
	db       dbx.DB
	tenant   *app.Tenant
	user     *authn.Principal
	admin    *authn.Principal
	operator *authn.Principal
}

func newHarness(t *testing.T, d dbx.Dialect) *harness {
	return newHarnessWithRing(t, d, mustRing(t, keyring.Generate()))
}

func newHarnessWithRing(t *testing.T, d dbx.Dialect, ring *keyring.Ring) *harness {
	t.Helper()
	db := testkit.OpenMigrated(t, d, "mfa", sqlstore.Migrate)
	clk := clock.NewFake(t0)
	box := outbox.New(db, clk, "mfa")
	h := &harness{t: t, clk: clk, mail: &mailer{}, pending: box.Pending, ring: ring, db: db}
	h.tenant = &app.Tenant{ID: ids.New(), Code: "eshc", Name: "ESHC", BrandName: "ESHC Portaal", SkewSteps: 1}
	other := &app.Tenant{ID: ids.New(), Code: "other", Name: "Other", SkewSteps: 1}
	user := &app.Account{ID: ids.New(), TenantID: h.tenant.ID, Username: "jan", Roles: []string{authn.RoleUser}}
	adm := &app.Account{ID: ids.New(), TenantID: h.tenant.ID, Username: "admin", Roles: []string{authn.RoleAdmin}}
	op := &app.Account{ID: ids.New(), TenantID: h.tenant.ID, Username: "op", Roles: []string{authn.RoleOperator}}
	h.dir = &directory{tenants: map[string]*app.Tenant{h.tenant.ID: h.tenant, other.ID: other},
		accounts: map[string]*app.Account{user.ID: user, adm.ID: adm, op.ID: op}}
	h.use = app.New(sqlstore.New(db, box), clk, h.dir, h.mail, ring, passhash.NewHasher(cheap, 2, 1000),
		app.Options{Poll: 10 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	h.dir.statusOf = h.use.GetFactorStatus
	h.user = h.principal(user)
	h.admin = h.principal(adm)
	h.operator = h.principal(op)
	return h
}

func mustRing(t *testing.T, s string) *keyring.Ring {
	t.Helper()
	r, err := keyring.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// principal is a signed-in account that authenticated just now.
func (h *harness) principal(a *app.Account) *authn.Principal {
	return &authn.Principal{Kind: authn.KindAccount, AccountID: a.ID, TenantID: a.TenantID, Roles: a.Roles,
		SessionID: ids.New(), AuthTime: h.clk.Now()}
}

// code is secret's code at the clock's time plus steps.
func (h *harness) code(secret string, steps int64) string {
	h.t.Helper()
	c, err := factor.Code(secret, factor.Step(h.clk.Now())+steps)
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

// enrolled enrols and confirms p's TOTP; it returns the secret and the
// recovery codes, with the clock moved to the next step.
func (h *harness) enrolled(p *authn.Principal) (string, []string) {
	h.t.Helper()
	ctx := context.Background()
	k, err := h.use.EnrollTotp(ctx, p)
	if err != nil {
		h.t.Fatal(err)
	}
	codes, err := h.use.ConfirmTotp(ctx, p, h.code(k.Secret, 0))
	if err != nil {
		h.t.Fatal(err)
	}
	h.clk.Advance(factor.Period * time.Second)
	return k.Secret, codes
}

func (h *harness) pendingEvents() int {
	h.t.Helper()
	n, err := h.pending(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

// eachDialect runs fn on PostgreSQL and on SQLite.
func eachDialect(t *testing.T, fn func(t *testing.T, d dbx.Dialect)) {
	for _, d := range testkit.Dialects {
		t.Run(string(d), func(t *testing.T) { fn(t, d) })
	}
}

func reasonOf(err error) string {
	var e *errs.Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// secretOfURI returns the secret parameter of an otpauth:// URI.
func secretOfURI(t *testing.T, uri string) string {
	t.Helper()
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "otpauth" {
		t.Fatalf("not an otpauth URI: %q", uri)
	}
	s := u.Query().Get("secret")
	if _, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(s); err != nil {
		t.Fatalf("secret %q is not base32", s)
	}
	return s
}

// storeOf is another store over h's database (a second replica, say).
func storeOf(h *harness) *sqlstore.Store {
	return sqlstore.New(h.db, outbox.New(h.db, h.clk, "mfa"))
}

// keyIDOf is the id of the key that sealed h's user's secret.
func keyIDOf(t *testing.T, h *harness) string {
	t.Helper()
	var id string
	if err := h.db.QueryRow(context.Background(), "SELECT key_id FROM factors WHERE account_id = $1", h.user.AccountID).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}
