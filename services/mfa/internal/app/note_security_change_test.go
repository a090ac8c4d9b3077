package app_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/passhash"
	"github.com/latchkey/latchkey/services/mfa/internal/app"
	"github.com/latchkey/latchkey/services/mfa/internal/factor"
)

// wantNote checks that exactly one NoteSecurityChange call came since the
// last check, for accountID of h's tenant, and that the status the
// account service would read then is want: the change had committed.
func (h *harness) wantNote(what, accountID string, want app.FactorStatus) {
	h.t.Helper()
	notes := h.dir.takeNotes()
	if len(notes) != 1 {
		h.t.Fatalf("%s: %d notes %+v, want 1", what, len(notes), notes)
	}
	n := notes[0]
	if n.tenantID != h.tenant.ID || n.accountID != accountID {
		h.t.Fatalf("%s: noted %s/%s, want %s/%s", what, n.tenantID, n.accountID, h.tenant.ID, accountID)
	}
	if n.status.TOTPEnabled != want.TOTPEnabled || n.status.EmailedKeyPending != want.EmailedKeyPending {
		h.t.Fatalf("%s: the status at the note was %+v, want TOTPEnabled %v, EmailedKeyPending %v",
			what, n.status, want.TOTPEnabled, want.EmailedKeyPending)
	}
}

// wantNoNote checks that no NoteSecurityChange call came since the last
// check.
func (h *harness) wantNoNote(what string) {
	h.t.Helper()
	if notes := h.dir.takeNotes(); len(notes) != 0 {
		h.t.Fatalf("%s: noted %+v, want nothing", what, notes)
	}
}

var (
	statusNone    = app.FactorStatus{}
	statusEnabled = app.FactorStatus{TOTPEnabled: true}
	statusEmailed = app.FactorStatus{EmailedKeyPending: true}
)

func TestNoteSecurityChange_SelfServiceAndAdministrator(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dbx.Dialect) {
		h := newHarness(t, d)
		ctx := context.Background()
		p := h.user

		k, err := h.use.EnrollTotp(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		h.wantNote("enrol", p.AccountID, statusNone)
		// A wrong code of an enrolment changes nothing the status reports.
		if _, err := h.use.ConfirmTotp(ctx, p, h.code(k.Secret, 3)); reasonOf(err) != app.ReasonCodeInvalid {
			t.Fatalf("wrong code: %v", err)
		}
		h.wantNoNote("a wrong confirmation code of an enrolment")
		if _, err := h.use.ConfirmTotp(ctx, p, h.code(k.Secret, 0)); err != nil {
			t.Fatal(err)
		}
		h.wantNote("confirm", p.AccountID, statusEnabled)
		if _, err := h.use.ConfirmTotp(ctx, p, h.code(k.Secret, 0)); reasonOf(err) != app.ReasonTOTPAlreadyEnabled {
			t.Fatalf("confirm again: %v", err)
		}
		if _, err := h.use.EnrollTotp(ctx, p); reasonOf(err) != app.ReasonTOTPAlreadyEnabled {
			t.Fatalf("enrol over a confirmed factor: %v", err)
		}
		h.wantNoNote("refused enrolment and confirmation")

		// Recovery codes are not what the account service reads.
		p.AuthTime = h.clk.Now()
		codes, err := h.use.RegenerateRecoveryCodes(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if m, _ := h.use.VerifyCode(ctx, p.TenantID, p.AccountID, codes[0], true); m != app.MethodRecoveryCode {
			t.Fatal("recovery code refused")
		}
		h.wantNoNote("recovery codes")

		// Refused disables note nothing.
		h.dir.mu.Lock()
		h.tenant.MFARequired = true
		h.dir.mu.Unlock()
		if err := h.use.DisableTotp(ctx, p); reasonOf(err) != app.ReasonMFARequired {
			t.Fatalf("disable under mfa.required: %v", err)
		}
		h.dir.mu.Lock()
		h.tenant.MFARequired = false
		h.dir.mu.Unlock()
		h.clk.Advance(authn.ReauthMaxAge + time.Second)
		if err := h.use.DisableTotp(ctx, p); reasonOf(err) != authn.ReasonReauthenticationRequired {
			t.Fatalf("disable with an old authentication: %v", err)
		}
		h.wantNoNote("refused disables")
		p.AuthTime = h.clk.Now()
		if err := h.use.DisableTotp(ctx, p); err != nil {
			t.Fatal(err)
		}
		h.wantNote("disable", p.AccountID, statusNone)
		if err := h.use.DisableTotp(ctx, p); reasonOf(err) != app.ReasonTOTPNotEnabled {
			t.Fatalf("disable without a factor: %v", err)
		}
		h.wantNoNote("disable without a factor")

		// The administrator's reset notes the account reset, not the
		// administrator's.
		h.enrolled(p)
		h.dir.takeNotes()
		if err := h.use.ResetMfa(ctx, h.user, p.AccountID); !errs.Is(err, errs.KindPermissionDenied) {
			t.Fatalf("a user resets: %v", err)
		}
		h.wantNoNote("refused reset")
		if err := h.use.ResetMfa(ctx, h.admin, p.AccountID); err != nil {
			t.Fatal(err)
		}
		h.wantNote("reset", p.AccountID, statusNone)
		if err := h.use.ResetMfa(ctx, h.admin, p.AccountID); err != nil {
			t.Fatal(err)
		}
		h.wantNoNote("reset of an account with no factor")
	})
}

func TestNoteSecurityChange_LogInEnrolment_OrdinaryCodesNoteNothing(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dbx.Dialect) {
		h := newHarness(t, d)
		ctx := context.Background()
		acct := h.user.AccountID
		k, err := h.use.StartTotpEnrollment(ctx, h.tenant.ID, acct)
		if err != nil {
			t.Fatal(err)
		}
		h.wantNote("start enrolment at log-in", acct, statusNone)
		if _, err := h.use.FinishTotpEnrollment(ctx, h.tenant.ID, acct, h.code(k.Secret, 0)); err != nil {
			t.Fatal(err)
		}
		h.wantNote("finish enrolment at log-in", acct, statusEnabled)

		// Ordinary log-ins: a right code, a replayed one, a wrong one.
		h.clk.Advance(factor.Period * time.Second)
		c := h.code(k.Secret, 0)
		if m, err := h.use.VerifyCode(ctx, h.tenant.ID, acct, c, false); m != app.MethodTOTP || err != nil {
			t.Fatalf("verify = %q, %v", m, err)
		}
		if m, _ := h.use.VerifyCode(ctx, h.tenant.ID, acct, c, false); m != "" {
			t.Fatal("a replayed code was accepted")
		}
		if m, _ := h.use.VerifyCode(ctx, h.tenant.ID, acct, h.code(k.Secret, 5), false); m != "" {
			t.Fatal("a wrong code was accepted")
		}
		h.wantNoNote("code checks at log-in")
	})
}

func TestNoteSecurityChange_EmailedKey(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dbx.Dialect) {
		h := newHarness(t, d)
		ctx := context.Background()
		acct := h.user.AccountID
		requestKey := func() {
			t.Helper()
			if err := h.use.RequestKey(ctx, "eshc", "jan"); err != nil {
				t.Fatal(err)
			}
			h.handle()
		}

		requestKey()
		h.wantNote("the worker stores an e-mailed key", acct, statusEmailed)
		requestKey()
		h.wantNoNote("the pending key e-mailed again")
		secret := h.mail.all()[0].secret

		// Wrong codes of the e-mailed key are counted; the last allowed
		// one ends it, and the status with it.
		wrong := h.code(secret, 3)
		for i := 1; i < factor.MaxConfirmFailures; i++ {
			if _, err := h.use.FinishTotpEnrollment(ctx, h.tenant.ID, acct, wrong); reasonOf(err) != app.ReasonCodeInvalid {
				t.Fatalf("wrong code %d: %v", i, err)
			}
			h.wantNote("a wrong code of an e-mailed key", acct, statusEmailed)
		}
		if _, err := h.use.FinishTotpEnrollment(ctx, h.tenant.ID, acct, wrong); reasonOf(err) != app.ReasonEnrollmentEnded {
			t.Fatalf("last wrong code: %v", err)
		}
		h.wantNote("the last wrong code of an e-mailed key", acct, statusNone)
		if _, err := h.use.FinishTotpEnrollment(ctx, h.tenant.ID, acct, wrong); reasonOf(err) != app.ReasonEnrollmentEnded {
			t.Fatalf("a wrong code after the bound: %v", err)
		}
		h.wantNoNote("a code of an ended key")

		// A new key; an enrolment started meanwhile replaces it.
		requestKey()
		h.wantNote("a new e-mailed key", acct, statusEmailed)
		if _, err := h.use.StartTotpEnrollment(ctx, h.tenant.ID, acct); err != nil {
			t.Fatal(err)
		}
		h.wantNote("an enrolment replaces the e-mailed key", acct, statusNone)

		// And another: its first code at a log-in confirms it.
		requestKey()
		h.wantNote("another e-mailed key", acct, statusEmailed)
		secret = h.mail.all()[len(h.mail.all())-1].secret
		if m, err := h.use.VerifyCode(ctx, h.tenant.ID, acct, h.code(secret, 0), false); m != app.MethodTOTP || err != nil {
			t.Fatalf("verify = %q, %v", m, err)
		}
		h.wantNote("the e-mailed key's first code", acct, statusEnabled)
		h.clk.Advance(factor.Period * time.Second)
		if m, err := h.use.VerifyCode(ctx, h.tenant.ID, acct, h.code(secret, 0), false); m != app.MethodTOTP || err != nil {
			t.Fatalf("verify = %q, %v", m, err)
		}
		h.wantNoNote("the confirmed key's next code")
		requestKey()
		h.wantNoNote("a key request of an account with a confirmed factor")
	})
}

func TestNoteSecurityChange_FailureLeavesTheChangeMade(t *testing.T) {
	h := newHarness(t, dbx.SQLite)
	ctx := context.Background()
	var logs bytes.Buffer
	use := app.New(storeOf(h), h.clk, h.dir, h.mail, h.ring, passhash.NewHasher(cheap, 1, 10),
		app.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	h.dir.noteFail = errs.Unavailable("ACCOUNT_DOWN", "the account service is down", errors.New("down"))
	p := h.user

	k, err := use.EnrollTotp(ctx, p)
	if err != nil {
		t.Fatalf("enrol: %v", err)
	}
	h.wantNote("enrol", p.AccountID, statusNone)
	if codes, err := use.ConfirmTotp(ctx, p, h.code(k.Secret, 0)); err != nil || len(codes) != factor.RecoveryCodeCount {
		t.Fatalf("confirm = %v, %v", codes, err)
	}
	h.wantNote("confirm", p.AccountID, statusEnabled)
	if st, _ := use.GetFactorStatus(ctx, p.TenantID, p.AccountID); !st.TOTPEnabled {
		t.Fatal("the confirmation did not stand")
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "tenant_id="+p.TenantID) ||
		!strings.Contains(logs.String(), "account_id="+p.AccountID) {
		t.Fatalf("no warning naming the account: %s", logs.String())
	}

	if err := use.DisableTotp(ctx, p); err != nil {
		t.Fatalf("disable: %v", err)
	}
	h.wantNote("disable", p.AccountID, statusNone)

	if err := use.RequestKey(ctx, "eshc", "jan"); err != nil {
		t.Fatal(err)
	}
	if n, err := use.HandleKeyRequests(ctx); n != 1 || err != nil {
		t.Fatalf("worker = %d, %v", n, err)
	}
	h.wantNote("the worker stores an e-mailed key", p.AccountID, statusEmailed)
	if sent := h.mail.all(); len(sent) != 1 {
		t.Fatalf("%d e-mails, want the key sent", len(sent))
	}
	secret := h.mail.all()[0].secret
	if m, err := use.VerifyCode(ctx, p.TenantID, p.AccountID, h.code(secret, 0), false); m != app.MethodTOTP || err != nil {
		t.Fatalf("verify = %q, %v", m, err)
	}
	h.wantNote("the e-mailed key's first code", p.AccountID, statusEnabled)

	if err := use.ResetMfa(ctx, h.admin, p.AccountID); err != nil {
		t.Fatalf("reset: %v", err)
	}
	h.wantNote("reset", p.AccountID, statusNone)
}
