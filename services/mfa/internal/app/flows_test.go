package app_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/libs/keyring"
	"github.com/latchkey/latchkey/libs/passhash"
	"github.com/latchkey/latchkey/services/mfa/internal/app"
	"github.com/latchkey/latchkey/services/mfa/internal/factor"
)

func TestEnrolConfirmVerifyDisable(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dbx.Dialect) {
		h := newHarness(t, d)
		ctx := context.Background()
		p := h.user

		// An enrolment replaces the one before it.
		first, err := h.use.EnrollTotp(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		k, err := h.use.EnrollTotp(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if k.Secret == first.Secret || secretOfURI(t, k.URI) != k.Secret || len(k.QRPNG) == 0 {
			t.Fatalf("second enrolment %+v", k)
		}
		if st, _ := h.use.GetFactorStatus(ctx, p.TenantID, p.AccountID); st.TOTPEnabled || st.EmailedKeyPending {
			t.Fatalf("status before confirmation %+v", st)
		}
		// An unconfirmed factor verifies nothing.
		if m, _ := h.use.VerifyCode(ctx, p.TenantID, p.AccountID, h.code(k.Secret, 0), false); m != "" {
			t.Fatal("an unconfirmed enrolment verified a code")
		}
		if _, err := h.use.ConfirmTotp(ctx, p, h.code(first.Secret, 0)); reasonOf(err) != app.ReasonCodeInvalid {
			t.Fatalf("the replaced enrolment's code: %v", err)
		}
		before := h.pendingEvents()
		codes, err := h.use.ConfirmTotp(ctx, p, h.code(k.Secret, 0))
		if err != nil || len(codes) != factor.RecoveryCodeCount {
			t.Fatalf("confirm = %v, %v", codes, err)
		}
		if h.pendingEvents() != before+1 {
			t.Fatal("no MfaEnabled event")
		}
		st, _ := h.use.GetFactorStatus(ctx, p.TenantID, p.AccountID)
		if !st.TOTPEnabled || st.EnabledAt == nil || st.RecoveryCodesRemaining != 10 {
			t.Fatalf("status %+v", st)
		}
		if _, err := h.use.EnrollTotp(ctx, p); reasonOf(err) != app.ReasonTOTPAlreadyEnabled {
			t.Fatalf("enrol over a confirmed factor: %v", err)
		}
		// The confirming code's step is spent; the next step's code works once.
		if m, _ := h.use.VerifyCode(ctx, p.TenantID, p.AccountID, h.code(k.Secret, 0), false); m != "" {
			t.Fatal("the confirming code was accepted again")
		}
		h.clk.Advance(30 * time.Second)
		c := h.code(k.Secret, 0)
		if m, err := h.use.VerifyCode(ctx, p.TenantID, p.AccountID, c, false); m != app.MethodTOTP || err != nil {
			t.Fatalf("verify = %q, %v", m, err)
		}
		if m, _ := h.use.VerifyCode(ctx, p.TenantID, p.AccountID, c, false); m != "" {
			t.Fatal("a replayed code was accepted")
		}
		list, err := h.use.ListFactors(ctx, p)
		if err != nil || len(list.Factors) != 1 || !list.Factors[0].Confirmed() || list.Factors[0].LastUsedAt == nil || list.RecoveryCodesRemaining != 10 {
			t.Fatalf("list = %+v, %v", list, err)
		}

		// Disabling needs a recent authentication.
		h.clk.Advance(authn.ReauthMaxAge)
		if err := h.use.DisableTotp(ctx, p); reasonOf(err) != authn.ReasonReauthenticationRequired {
			t.Fatalf("disable with an old authentication: %v", err)
		}
		p.AuthTime = h.clk.Now()
		before = h.pendingEvents()
		if err := h.use.DisableTotp(ctx, p); err != nil {
			t.Fatal(err)
		}
		if h.pendingEvents() != before+1 {
			t.Fatal("no MfaDisabled event")
		}
		st, _ = h.use.GetFactorStatus(ctx, p.TenantID, p.AccountID)
		if st.TOTPEnabled || st.RecoveryCodesRemaining != 0 {
			t.Fatalf("status after disable %+v", st)
		}
		if m, _ := h.use.VerifyCode(ctx, p.TenantID, p.AccountID, codes[0], true); m != "" {
			t.Fatal("a recovery code outlived the factor")
		}
	})
}

func TestEnrol_NeedsRecentAuthentication(t *testing.T) {
	h := newHarness(t, dbx.SQLite)
	h.clk.Advance(authn.ReauthMaxAge + time.Second)
	if _, err := h.use.EnrollTotp(context.Background(), h.user); reasonOf(err) != authn.ReasonReauthenticationRequired {
		t.Fatalf("enrol = %v, want %s", err, authn.ReasonReauthenticationRequired)
	}
	if _, err := h.use.RegenerateRecoveryCodes(context.Background(), h.user); reasonOf(err) != authn.ReasonReauthenticationRequired {
		t.Fatalf("regenerate = %v", err)
	}
}

func TestVerifyCode_SkewOneAcceptedTwoRefused_EarlierStepsRefused(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dbx.Dialect) {
		h := newHarness(t, d)
		ctx := context.Background()
		p := h.user
		secret, _ := h.enrolled(p)
		verify := func(steps int64) bool {
			m, err := h.use.VerifyCode(ctx, p.TenantID, p.AccountID, h.code(secret, steps), false)
			if err != nil {
				t.Fatal(err)
			}
			return m == app.MethodTOTP
		}
		// Each check on a fresh step, so replay protection does not
		// decide.
		for _, c := range []struct {
			steps int64
			want  bool
		}{{-2, false}, {-1, true}, {+2, false}, {+1, true}} {
			h.clk.Advance(5 * factor.Period * time.Second)
			if got := verify(c.steps); got != c.want {
				t.Errorf("code %+d steps off: accepted %v, want %v", c.steps, got, c.want)
			}
		}
		// After the code of the next step, the current one (an earlier
		// step) is refused.
		h.clk.Advance(5 * factor.Period * time.Second)
		if !verify(1) || verify(0) || verify(-1) || verify(1) {
			t.Error("a step at or before the last accepted one was accepted")
		}
		// A tenant with skew 0 takes the current step only.
		h.dir.mu.Lock()
		h.tenant.SkewSteps = 0
		h.dir.mu.Unlock()
		h.clk.Advance(5 * factor.Period * time.Second)
		if verify(1) || verify(-1) || !verify(0) {
			t.Error("skew 0 was not the current step only")
		}
	})
}

func TestVerifyCode_TwentyParallelSubmissionsOfOneCode_OneAccepted(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dbx.Dialect) {
		h := newHarness(t, d)
		p := h.user
		secret, _ := h.enrolled(p)
		code := h.code(secret, 0)
		var wins, refusals atomic.Int32
		var wg sync.WaitGroup
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m, err := h.use.VerifyCode(context.Background(), p.TenantID, p.AccountID, code, false)
				switch {
				case err != nil:
					t.Error(err)
				case m == app.MethodTOTP:
					wins.Add(1)
				default:
					refusals.Add(1)
				}
			}()
		}
		wg.Wait()
		t.Logf("20 parallel submissions: %d accepted, %d refused", wins.Load(), refusals.Load())
		if wins.Load() != 1 || refusals.Load() != 19 {
			t.Fatalf("%d accepted, %d refused; want 1 and 19", wins.Load(), refusals.Load())
		}
	})
}

func TestRecoveryCodes_OneTime_ParallelUsesOneWins_RegenerateVoidsTheOldSet(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dbx.Dialect) {
		h := newHarness(t, d)
		ctx := context.Background()
		p := h.user
		_, codes := h.enrolled(p)
		if m, _ := h.use.VerifyCode(ctx, p.TenantID, p.AccountID, codes[0], false); m != "" {
			t.Fatal("a recovery code was accepted where it is not allowed")
		}
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m, err := h.use.VerifyCode(ctx, p.TenantID, p.AccountID, codes[0], true)
				if err != nil {
					t.Error(err)
				}
				if m == app.MethodRecoveryCode {
					wins.Add(1)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d of 20 parallel uses of one recovery code won, want 1", wins.Load())
		}
		st, _ := h.use.GetFactorStatus(ctx, p.TenantID, p.AccountID)
		if st.RecoveryCodesRemaining != 9 {
			t.Fatalf("%d codes left, want 9", st.RecoveryCodesRemaining)
		}
		// Typed in upper case with spaces, it still works.
		typed := "  " + codes[1][:4] + " " + codes[1][5:]
		if m, _ := h.use.VerifyCode(ctx, p.TenantID, p.AccountID, typed, true); m != app.MethodRecoveryCode {
			t.Fatalf("%q was refused", typed)
		}
		// A wrong secret part with a right lookup part is refused.
		wrong := codes[2][:5] + "00000-00000"
		if m, _ := h.use.VerifyCode(ctx, p.TenantID, p.AccountID, wrong, true); m != "" {
			t.Fatal("a wrong code with a known lookup part was accepted")
		}
		p.AuthTime = h.clk.Now()
		fresh, err := h.use.RegenerateRecoveryCodes(ctx, p)
		if err != nil || len(fresh) != 10 {
			t.Fatalf("regenerate = %v, %v", fresh, err)
		}
		if m, _ := h.use.VerifyCode(ctx, p.TenantID, p.AccountID, codes[3], true); m != "" {
			t.Fatal("a code of the old set works after regeneration")
		}
		if m, _ := h.use.VerifyCode(ctx, p.TenantID, p.AccountID, fresh[0], true); m != app.MethodRecoveryCode {
			t.Fatal("a new code was refused")
		}
		// No factor, no codes.
		other := h.admin
		if _, err := h.use.RegenerateRecoveryCodes(ctx, other); reasonOf(err) != app.ReasonTOTPNotEnabled {
			t.Fatalf("regenerate without a factor: %v", err)
		}
	})
}

func TestConfirm_WrongCodesBoundedThenStartAgain(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dbx.Dialect) {
		h := newHarness(t, d)
		ctx := context.Background()
		p := h.user
		k, err := h.use.EnrollTotp(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		wrong := h.code(k.Secret, 3)
		for i := 1; i < factor.MaxConfirmFailures; i++ {
			if _, err := h.use.ConfirmTotp(ctx, p, wrong); reasonOf(err) != app.ReasonCodeInvalid || !errs.Is(err, errs.KindInvalid) {
				t.Fatalf("wrong code %d: %v", i, err)
			}
		}
		if _, err := h.use.ConfirmTotp(ctx, p, wrong); reasonOf(err) != app.ReasonEnrollmentEnded {
			t.Fatalf("last wrong code: %v", err)
		}
		if _, err := h.use.ConfirmTotp(ctx, p, h.code(k.Secret, 0)); reasonOf(err) != app.ReasonEnrollmentEnded {
			t.Fatalf("the right code after the bound: %v", err)
		}
		k, _ = h.use.EnrollTotp(ctx, p)
		if _, err := h.use.ConfirmTotp(ctx, p, h.code(k.Secret, 0)); err != nil {
			t.Fatalf("a new enrolment: %v", err)
		}
		if _, err := h.use.ConfirmTotp(ctx, p, ""); !errs.Is(err, errs.KindInvalid) {
			t.Fatalf("empty code: %v", err)
		}
	})
}

func TestDisable_RefusedWhenTheTenantRequiresMFA(t *testing.T) {
	h := newHarness(t, dbx.SQLite)
	ctx := context.Background()
	h.enrolled(h.user)
	h.dir.mu.Lock()
	h.tenant.MFARequired = true
	h.dir.mu.Unlock()
	h.user.AuthTime = h.clk.Now()
	err := h.use.DisableTotp(ctx, h.user)
	if reasonOf(err) != app.ReasonMFARequired || !errs.Is(err, errs.KindFailedPrecondition) {
		t.Fatalf("disable = %v, want FailedPrecondition %s", err, app.ReasonMFARequired)
	}
	if st, _ := h.use.GetFactorStatus(ctx, h.tenant.ID, h.user.AccountID); !st.TOTPEnabled {
		t.Fatal("the factor is gone")
	}
}

func TestFinishTotpEnrollment_LogInStep(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dbx.Dialect) {
		h := newHarness(t, d)
		ctx := context.Background()
		k, err := h.use.StartTotpEnrollment(ctx, h.tenant.ID, h.user.AccountID)
		if err != nil {
			t.Fatal(err)
		}
		before := h.pendingEvents()
		codes, err := h.use.FinishTotpEnrollment(ctx, h.tenant.ID, h.user.AccountID, h.code(k.Secret, 0))
		if err != nil || len(codes) != 10 || h.pendingEvents() != before+1 {
			t.Fatalf("finish = %v, %v", codes, err)
		}
		if _, err := h.use.StartTotpEnrollment(ctx, h.tenant.ID, "not-an-id"); !errs.Is(err, errs.KindInvalid) {
			t.Fatalf("bad id: %v", err)
		}
	})
}

func TestResetMfa_AdminOfTheTenantOnly(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dbx.Dialect) {
		h := newHarness(t, d)
		ctx := context.Background()
		h.enrolled(h.user)
		if err := h.use.ResetMfa(ctx, h.user, h.user.AccountID); !errs.Is(err, errs.KindPermissionDenied) {
			t.Fatalf("a user resets: %v", err)
		}
		stranger := &authn.Principal{Kind: authn.KindAccount, AccountID: ids.New(), TenantID: ids.New(), Roles: []string{authn.RoleAdmin}}
		if err := h.use.ResetMfa(ctx, stranger, h.user.AccountID); !errs.Is(err, errs.KindNotFound) {
			t.Fatalf("another tenant's admin resets: %v", err)
		}
		h.enrolled(h.operator)
		if err := h.use.ResetMfa(ctx, h.admin, h.operator.AccountID); reasonOf(err) != authn.ReasonOperatorAccount {
			t.Fatalf("an admin resets an operator: %v", err)
		}
		before := h.pendingEvents()
		if err := h.use.ResetMfa(ctx, h.admin, h.user.AccountID); err != nil {
			t.Fatal(err)
		}
		if h.pendingEvents() != before+1 {
			t.Fatal("no MfaReset event")
		}
		st, _ := h.use.GetFactorStatus(ctx, h.tenant.ID, h.user.AccountID)
		if st.TOTPEnabled || st.RecoveryCodesRemaining != 0 {
			t.Fatalf("after reset %+v", st)
		}
		// An operator token acts in the tenant it names.
		op := &authn.Principal{Kind: authn.KindOperatorToken, TenantCode: "eshc"}
		if err := h.use.ResetMfa(ctx, op, h.operator.AccountID); err != nil {
			t.Fatalf("operator resets: %v", err)
		}
		if err := h.use.ResetMfa(ctx, op, h.operator.AccountID); err != nil || h.pendingEvents() != before+2 {
			t.Fatalf("a second reset: %v (events %d)", err, h.pendingEvents()-before)
		}
	})
}

func TestVerifyCode_ResealsUnderThePrimaryKey(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dbx.Dialect) {
		oldKey, newKey := "old:"+keyring.Generate(), "new:"+keyring.Generate()
		h := newHarnessWithRing(t, d, mustRing(t, oldKey))
		secret, _ := h.enrolled(h.user)
		if id := keyIDOf(t, h); id != "old" {
			t.Fatalf("sealed under %q, want old", id)
		}
		// The ring is rotated: the new key seals, the old one still opens.
		use := app.New(storeOf(h), h.clk, h.dir, h.mail, mustRing(t, newKey+","+oldKey), passhash.NewHasher(cheap, 1, 10), app.Options{})
		if m, err := use.VerifyCode(context.Background(), h.tenant.ID, h.user.AccountID, h.code(secret, 0), false); m != app.MethodTOTP || err != nil {
			t.Fatalf("verify = %q, %v", m, err)
		}
		if id := keyIDOf(t, h); id != "new" {
			t.Fatalf("sealed under %q after a verification, want the primary", id)
		}
		// Only the new key left: the secret still opens.
		onlyNew := app.New(storeOf(h), h.clk, h.dir, h.mail, mustRing(t, newKey), passhash.NewHasher(cheap, 1, 10), app.Options{})
		h.clk.Advance(30 * time.Second)
		if m, err := onlyNew.VerifyCode(context.Background(), h.tenant.ID, h.user.AccountID, h.code(secret, 0), false); m != app.MethodTOTP || err != nil {
			t.Fatalf("verify with the new key only = %q, %v", m, err)
		}
	})
}

func TestConfirm_TwentyParallelConfirmationsWithOneCode_OneGetsTheCodes(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dbx.Dialect) {
		h := newHarness(t, d)
		ctx := context.Background()
		k, err := h.use.EnrollTotp(ctx, h.user)
		if err != nil {
			t.Fatal(err)
		}
		code := h.code(k.Secret, 0)
		before := h.pendingEvents()
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes, err := h.use.ConfirmTotp(ctx, h.user, code)
				switch {
				case err == nil && len(codes) == 10:
					wins.Add(1)
				case reasonOf(err) != app.ReasonCodeInvalid && reasonOf(err) != app.ReasonTOTPAlreadyEnabled:
					t.Errorf("a losing confirmation: %v", err)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 || h.pendingEvents() != before+1 {
			t.Fatalf("%d of 20 confirmations won, %d events; want 1 and 1", wins.Load(), h.pendingEvents()-before)
		}
		if st, _ := h.use.GetFactorStatus(ctx, h.tenant.ID, h.user.AccountID); st.RecoveryCodesRemaining != 10 {
			t.Fatalf("%d recovery codes stored, want the winner's 10", st.RecoveryCodesRemaining)
		}
	})
}
