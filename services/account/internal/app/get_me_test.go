package app_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/outbox"
	"github.com/latchkey/latchkey/libs/testkit"
	"github.com/latchkey/latchkey/services/account/internal/account"
	"github.com/latchkey/latchkey/services/account/internal/app"
	"github.com/latchkey/latchkey/services/account/internal/store"
	"github.com/latchkey/latchkey/services/account/internal/store/sqlstore"
)

// fakeSecurity is the mfa and recovery services for GET /v1/me.
type fakeSecurity struct {
	totp, pending, recoverySet bool
	mfaErr, recoveryErr        error
	asked                      int64 // FactorStatus calls, counted atomically
}

func (f *fakeSecurity) FactorStatus(context.Context, string, string) (bool, bool, error) {
	atomic.AddInt64(&f.asked, 1)
	return f.totp, f.pending, f.mfaErr
}

func (f *fakeSecurity) RecoveryInfoSet(context.Context, string, string) (bool, error) {
	return f.recoverySet, f.recoveryErr
}

// set gives the fake new answers, as the mfa and recovery services would
// after a change, which they note.
func (f *fakeSecurity) set(t *testing.T, a *app.App, me *authn.Principal, totp, pending, recoverySet bool, mfaErr, recoveryErr error) {
	t.Helper()
	f.totp, f.pending, f.recoverySet, f.mfaErr, f.recoveryErr = totp, pending, recoverySet, mfaErr, recoveryErr
	if err := a.NoteSecurityChange(context.Background(), me.TenantID, me.AccountID); err != nil {
		t.Fatal(err)
	}
}

// GET /v1/me tells what the mfa and recovery services say: TOTP on,
// recovery information set, ENROLL_MFA where the tenant requires a factor
// and there is none, SET_RECOVERY_INFO where the tenant's questions are
// not set; a service that cannot answer is an error, never "none".
func TestGetMe_SecurityFromMFAAndRecovery(t *testing.T) {
	ctx := context.Background()
	policy := account.DefaultPolicy()
	policy.MFA.Required = true
	policy.Recovery.SecurityQuestions, policy.Recovery.SecurityQuestionsRequired = true, 2
	f := newMeFixture(t, policy)
	a, sec, me := f.app, f.sec, f.me
	unavailable := errs.Unavailable("X_UNAVAILABLE", "down", nil)
	for _, tc := range []struct {
		name                 string
		sec                  fakeSecurity
		steps, prompts       string
		totp, recoverySet    bool
		wantUnavailableError bool
	}{
		{"nothing set", fakeSecurity{}, "[ENROLL_MFA]", "[SET_RECOVERY_INFO]", false, false, false},
		{"TOTP on, questions set", fakeSecurity{totp: true, recoverySet: true}, "[]", "[]", true, true, false},
		{"e-mailed key pending: no enrolment", fakeSecurity{pending: true, recoverySet: true}, "[]", "[]", false, true, false},
		{"mfa down", fakeSecurity{mfaErr: unavailable, recoverySet: true}, "", "", false, false, true},
		{"recovery down", fakeSecurity{totp: true, recoveryErr: unavailable}, "", "", false, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sec.set(t, a, me, tc.sec.totp, tc.sec.pending, tc.sec.recoverySet, tc.sec.mfaErr, tc.sec.recoveryErr)
			got, err := a.GetMe(ctx, me)
			if tc.wantUnavailableError {
				if !errs.Is(err, errs.KindUnavailable) {
					t.Fatalf("GetMe = %+v, %v; want Unavailable", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s := fmt.Sprint(got.PendingSteps); s != tc.steps {
				t.Errorf("pending steps %s, want %s", s, tc.steps)
			}
			if s := fmt.Sprint(got.Prompts); s != tc.prompts {
				t.Errorf("prompts %s, want %s", s, tc.prompts)
			}
			if got.Security.TOTPEnabled != tc.totp || got.Security.RecoveryInfoSet != tc.recoverySet {
				t.Errorf("security %+v, want totp %v recovery %v", got.Security, tc.totp, tc.recoverySet)
			}
		})
	}
	// Without the peers wired, GET /v1/me cannot tell: Unavailable.
	bare := app.New(f.store, f.clk, &countingCredentials{}, app.Options{})
	if _, err := bare.GetMe(ctx, me); !errs.Is(err, errs.KindUnavailable) {
		t.Fatalf("GetMe without mfa and recovery: %v, want Unavailable", err)
	}
}

// GET /v1/me keeps the tenant for a moment (issue 14), yet a change of
// the tenant made here shows at the very next call: the policy change and
// the terms published forget it.
func TestGetMe_SeesTenantChangesAtOnce(t *testing.T) {
	ctx := context.Background()
	f := newMeFixture(t, account.DefaultPolicy())
	f.sec.recoverySet = true
	a, op, me := f.app, f.op, f.me
	steps := func() string {
		t.Helper()
		got, err := a.GetMe(ctx, me)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(got.PendingSteps)
	}
	if s := steps(); s != "[]" {
		t.Fatalf("before: %s", s)
	}
	if _, err := a.UpdateTenant(ctx, op, app.UpdateTenant{Code: "acme", Policy: func(p *account.Policy) { p.MFA.Required = true }}); err != nil {
		t.Fatal(err)
	}
	if s := steps(); s != "[ENROLL_MFA]" {
		t.Fatalf("after the tenant required a factor: %s, want [ENROLL_MFA]", s)
	}
	if _, err := a.UpdateTenant(ctx, op, app.UpdateTenant{Code: "acme", Policy: func(p *account.Policy) {
		p.MFA.Required, p.TermsRequired = false, true
	}}); err != nil {
		t.Fatal(err)
	}
	if s := steps(); s != "[]" {
		t.Fatalf("terms required, none published yet: %s", s)
	}
	if _, err := a.PublishTerms(ctx, op, "2026-03", "Be nice."); err != nil {
		t.Fatal(err)
	}
	if s := steps(); s != "[ACCEPT_TERMS]" {
		t.Fatalf("after terms were published: %s, want [ACCEPT_TERMS]", s)
	}
}

// GET /v1/me keeps the peers' answers (issue 14) only while nothing they
// report changed: a change noted by the service that made it shows at the
// very next call, on this replica and on another one over the same
// database; a new policy asks again; a peer that could not answer is
// asked again, not remembered as an answer.
func TestGetMe_KeepsPeerAnswersUntilAChangeIsNoted(t *testing.T) {
	ctx := context.Background()
	f := newMeFixture(t, account.DefaultPolicy())
	a, sec, me := f.app, f.sec, f.me
	other := app.New(f.store, f.clk, &countingCredentials{}, app.Options{Factors: sec, Recovery: sec}) // another replica
	read := func(a *app.App) *app.Me {
		t.Helper()
		got, err := a.GetMe(ctx, me)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	asked := func(want int64, when string) {
		t.Helper()
		if n := atomic.SwapInt64(&sec.asked, 0); n != want {
			t.Fatalf("%s: the peers were asked %d times, want %d", when, n, want)
		}
	}
	read(a)
	read(a)
	read(other)
	asked(2, "three reads on two replicas")

	sec.set(t, a, me, true, false, true, nil, nil) // TOTP enrolled, questions set
	for _, r := range []*app.App{a, other} {
		if got := read(r); !got.Security.TOTPEnabled || !got.Security.RecoveryInfoSet {
			t.Fatalf("after a noted change: %+v", got.Security)
		}
	}
	asked(2, "after a noted change")

	if _, err := a.UpdateTenant(ctx, f.op, app.UpdateTenant{Code: "acme", Policy: func(p *account.Policy) { p.Password.MaxAgeDays = 30 }}); err != nil {
		t.Fatal(err)
	}
	read(a)
	read(a)
	asked(1, "after a policy change")

	// A failing peer is not kept: the next read asks again.
	sec.set(t, a, me, true, false, true, errs.Unavailable("MFA_UNAVAILABLE", "down", nil), nil)
	if _, err := a.GetMe(ctx, me); !errs.Is(err, errs.KindUnavailable) {
		t.Fatalf("mfa down: %v", err)
	}
	sec.mfaErr = nil
	if got := read(a); !got.Security.TOTPEnabled {
		t.Fatalf("mfa back: %+v", got.Security)
	}
	asked(2, "a failed read, then a good one")

	// The stamp is the account's, in its tenant: an unknown account, or
	// one named in another tenant, is not found.
	for _, ref := range [][2]string{{me.TenantID, "0190a0b0-0000-7000-8000-000000000001"}, {"0190a0b0-0000-7000-8000-000000000002", me.AccountID}} {
		if err := a.NoteSecurityChange(ctx, ref[0], ref[1]); !errs.Is(err, errs.KindNotFound) {
			t.Errorf("NoteSecurityChange(%s, %s) = %v, want NotFound", ref[0], ref[1], err)
		}
	}
}

// meFixture is the account service over SQLite with fake mfa and
// recovery services, a tenant "acme" of policy and its user bob.
type meFixture struct {
	app    *app.App
	store  store.Store
	clk    *clock.Fake
	sec    *fakeSecurity
	op, me *authn.Principal
}

func newMeFixture(t *testing.T, policy account.Policy) meFixture {
	t.Helper()
	ctx := context.Background()
	db := testkit.OpenSQLite(t, "account")
	if err := sqlstore.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	f := meFixture{clk: clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)), sec: &fakeSecurity{},
		op: &authn.Principal{Kind: authn.KindOperatorToken, TenantCode: "acme"}}
	f.store = sqlstore.New(db, outbox.New(db, f.clk, "account"))
	f.app = app.New(f.store, f.clk, &countingCredentials{}, app.Options{Factors: f.sec, Recovery: f.sec})
	tenant, _, err := f.app.CreateTenant(ctx, f.op, app.CreateTenant{Code: "acme", Name: "Acme", Policy: policy})
	if err != nil {
		t.Fatal(err)
	}
	bob, err := f.app.CreateAccount(ctx, f.op, app.NewAccount{Username: "bob", Email: "bob@acme.example", DisplayName: "Bob",
		Roles: []account.Role{account.RoleUser}, Activation: account.ActivationTemporaryPassword, TemporaryPassword: "Temporary-Passw0rd!"})
	if err != nil {
		t.Fatal(err)
	}
	f.me = &authn.Principal{Kind: authn.KindAccount, TenantID: tenant.ID, AccountID: bob.ID, SessionID: "s"}
	return f
}
