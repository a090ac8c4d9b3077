package app_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/services/recovery/internal/app"
	recoveryevents "github.com/latchkey/latchkey/services/recovery/internal/events"
	"github.com/latchkey/latchkey/services/recovery/internal/recovery"
	"github.com/latchkey/latchkey/services/recovery/internal/store"
)

var ctx = context.Background()

func TestRequestPasswordReset_LinkOnlyForAccountsThatMayReset(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		active := h.account("active", app.StatusActive)
		locked := h.account("locked", app.StatusLocked)
		pending := h.account("pending", app.StatusPending)
		disabled := h.account("disabled", app.StatusDisabled)
		for _, r := range []struct{ tenant, login string }{
			{"acme", "active"}, {"acme", "locked"}, {"acme", "pending"}, {"acme", "disabled"}, {"acme", "nobody"}, {"other", "active"},
		} {
			if err := h.app.RequestPasswordReset(ctx, r.tenant, r.login); err != nil {
				t.Fatalf("%s/%s: %v", r.tenant, r.login, err)
			}
		}
		if n := len(h.mails()); n != 0 {
			t.Fatalf("%d e-mails before the worker ran: the request looked something up", n)
		}
		if _, err := h.app.ProcessResetRequests(ctx); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range h.mails() {
			if m.GetTemplate().String() != "PASSWORD_RESET" || m.GetVariables()["token"] == "" || m.GetVariables()["expire_time"] == "" {
				t.Errorf("e-mail request %v", m)
			}
			got = append(got, m.GetAccountId())
		}
		slices.Sort(got)
		want := []string{active.ID, locked.ID, pending.ID}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("links went to %v, want %v (not %s)", got, want, disabled.ID)
		}
		if n := h.events(recoveryevents.SubjectPasswordResetRequested); n != 3 {
			t.Fatalf("%d PasswordResetRequested, want 3", n)
		}
		if again, _ := h.app.ProcessResetRequests(ctx); again != 0 {
			t.Fatalf("%d requests left after handling", again)
		}
	})
}

func TestRequestPasswordReset_BadInputNamesTheField(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		err := h.app.RequestPasswordReset(ctx, "", string(make([]byte, 400)))
		var fields []string
		if e, ok := err.(*errs.Error); ok {
			for _, f := range e.Fields {
				fields = append(fields, f.Field)
			}
		}
		if !errs.Is(err, errs.KindInvalid) || !slices.Equal(fields, []string{"tenant", "login"}) {
			t.Fatalf("err %v, fields %v", err, fields)
		}
	})
}

func TestCompletePasswordReset_TokenAlone_SetsPasswordOnceAndReleasesLock(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		a := h.account("jan", app.StatusLocked)
		tok := h.resetLink(a)
		in, err := h.app.InspectPasswordReset(ctx, tok)
		if err != nil || len(in.Requires) != 0 || in.Rules.MinLength != 10 || !in.ExpiresAt.Equal(t0.Add(30*time.Minute)) || in.Username != "jan" {
			t.Fatalf("inspect: %+v %v", in, err)
		}
		// A password the policy refuses leaves the link usable.
		if _, err := h.app.CompletePasswordReset(ctx, tok, "", "short"); !errs.Is(err, errs.KindInvalid) {
			t.Fatalf("weak password: %v", err)
		}
		code, err := h.app.CompletePasswordReset(ctx, tok, "", "a-long-new-password")
		if err != nil || code != "acme" {
			t.Fatalf("complete: %q %v", code, err)
		}
		if h.cred.password(a.ID) != "a-long-new-password" || len(h.cred.initial) != 0 {
			t.Fatal("the password was not set after reset")
		}
		if !slices.Equal(h.dir.released, []string{a.ID}) {
			t.Fatalf("lockout released for %v", h.dir.released)
		}
		if n := h.events(recoveryevents.SubjectPasswordResetCompleted); n != 1 {
			t.Fatalf("%d PasswordResetCompleted", n)
		}
		if _, err := h.app.CompletePasswordReset(ctx, tok, "", "another-long-password"); reason(err) != recovery.ReasonLinkTokenInvalid {
			t.Fatalf("second use: %v", err)
		}
		if s, _ := h.app.GetRecoveryInfo(ctx, a.TenantID, a.ID); !s.EmailVerified {
			t.Fatal("a completed reset did not verify the e-mail address")
		}
	})
}

func TestCompletePasswordReset_PendingAccountIsActivated(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		a := h.account("new", app.StatusPending)
		tok := h.resetLink(a)
		if _, err := h.app.CompletePasswordReset(ctx, tok, "", "a-long-new-password"); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(h.cred.initial, []string{a.ID}) || !slices.Equal(h.dir.activated, []string{a.ID}) {
			t.Fatalf("initial password %v, activated %v", h.cred.initial, h.dir.activated)
		}
	})
}

func TestLinkTokens_UnknownUsedExpiredVoid_OneAnswer(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		a := h.account("jan", app.StatusActive)
		used := h.resetLink(a)
		if _, err := h.app.CompletePasswordReset(ctx, used, "", "a-long-new-password"); err != nil {
			t.Fatal(err)
		}
		older := h.resetLink(a)
		_ = h.resetLink(a) // voids older
		expired := h.resetLink(a)
		h.clock.Advance(31 * time.Minute)
		unknown, _ := recovery.NewSecret()
		for name, tok := range map[string]string{"used": used, "voided": older, "expired": expired, "unknown": unknown, "malformed": "x"} {
			if _, err := h.app.InspectPasswordReset(ctx, tok); !errs.Is(err, errs.KindUnauthenticated) || reason(err) != recovery.ReasonLinkTokenInvalid {
				t.Errorf("%s: %v", name, err)
			}
		}
	})
}

func TestCompletePasswordReset_20ConcurrentWithOneToken_OneWins(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		a := h.account("jan", app.StatusActive)
		tok := h.resetLink(a)
		n := race(20, func() error { _, err := h.app.CompletePasswordReset(ctx, tok, "", "a-long-new-password"); return err })
		if n != 1 {
			t.Fatalf("%d of 20 completions won, want 1", n)
		}
	})
}

func TestCompletePasswordReset_20ConcurrentWithOneTicket_OneWins(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		a := h.account("jan", app.StatusActive)
		h.mfa.needs[a.ID] = true
		tok := h.resetLink(a)
		code := "123456"
		ticket, _, err := h.app.VerifyPasswordReset(ctx, tok, &code, nil)
		if err != nil {
			t.Fatal(err)
		}
		n := race(20, func() error {
			_, err := h.app.CompletePasswordReset(ctx, "", ticket, "a-long-new-password")
			return err
		})
		if n != 1 {
			t.Fatalf("%d of 20 completions won, want 1", n)
		}
	})
}

func TestResetWithTOTP_TokenAloneRefused_TicketWorks_CodeNotTurnedOff(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		a := h.account("jan", app.StatusActive)
		h.mfa.needs[a.ID] = true
		tok := h.resetLink(a)
		in, err := h.app.InspectPasswordReset(ctx, tok)
		if err != nil || !slices.Equal(in.Requires, []string{recovery.ProofTOTP}) || len(in.Questions) != 0 {
			t.Fatalf("inspect: %+v %v", in, err)
		}
		if _, err := h.app.CompletePasswordReset(ctx, tok, "", "a-long-new-password"); reason(err) != recovery.ReasonVerificationRequired {
			t.Fatalf("token alone: %v", err)
		}
		if _, _, err := h.app.VerifyPasswordReset(ctx, tok, nil, nil); !errs.Is(err, errs.KindInvalid) {
			t.Fatalf("no code: %v", err)
		}
		wrong := "000000"
		if _, _, err := h.app.VerifyPasswordReset(ctx, tok, &wrong, nil); reason(err) != recovery.ReasonTOTPInvalid {
			t.Fatalf("wrong code: %v", err)
		}
		if !slices.Equal(h.cred.failed, []string{app.FailedResetTOTP}) {
			t.Fatalf("failed attempts %v", h.cred.failed)
		}
		code := "123456"
		ticket, exp, err := h.app.VerifyPasswordReset(ctx, tok, &code, nil)
		if err != nil || !exp.Equal(t0.Add(5*time.Minute)) {
			t.Fatalf("verify: %v %v", exp, err)
		}
		// A weak password leaves the ticket (and its link) usable.
		if _, err := h.app.CompletePasswordReset(ctx, "", ticket, "short"); !errs.Is(err, errs.KindInvalid) {
			t.Fatalf("weak: %v", err)
		}
		if _, err := h.app.CompletePasswordReset(ctx, "", ticket, "a-long-new-password"); err != nil {
			t.Fatal(err)
		}
		if _, err := h.app.CompletePasswordReset(ctx, "", ticket, "a-long-new-password"); reason(err) != recovery.ReasonResetTicketInvalid {
			t.Fatalf("ticket reused: %v", err)
		}
		if !h.mfa.needs[a.ID] {
			t.Fatal("the reset turned the second factor off")
		}
	})
}

func TestInspect_TenantRequiresMFA_AndMFAUnavailableFailsClosed(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		a := h.account("jan", app.StatusActive)
		tok := h.resetLink(a)
		h.mfa.err = errs.Unavailable("MFA_UNAVAILABLE", "down", nil)
		if _, err := h.app.InspectPasswordReset(ctx, tok); !errs.Is(err, errs.KindUnavailable) {
			t.Fatalf("mfa down: %v", err)
		}
		if _, err := h.app.CompletePasswordReset(ctx, tok, "", "a-long-new-password"); !errs.Is(err, errs.KindUnavailable) {
			t.Fatalf("complete with mfa down: %v", err)
		}
		h.tenant.Policy.ResetRequiresMFA = true
		in, err := h.app.InspectPasswordReset(ctx, tok)
		if err != nil || !slices.Equal(in.Requires, []string{recovery.ProofTOTP}) {
			t.Fatalf("tenant requires mfa: %+v %v", in, err)
		}
	})
}

func TestSecurityAnswers_WrongOnesCountedThroughCredential_LinkVoidAfterThree(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		h.tenant.Policy.SecurityQuestions, h.tenant.Policy.QuestionsRequired = true, 2
		a := h.account("jan", app.StatusActive)
		err := h.app.SetSecurityQuestions(ctx, h.user(a, time.Minute), []recovery.QA{
			{Question: "First pet?", Answer: "  Rex  the   DOG "}, {Question: "City of birth?", Answer: "Ｔｉｌｂｕｒｇ"}})
		if err != nil {
			t.Fatal(err)
		}
		tok := h.resetLink(a)
		in, err := h.app.InspectPasswordReset(ctx, tok)
		if err != nil || !slices.Equal(in.Requires, []string{recovery.ProofAnswers}) || !slices.Equal(in.Questions, []string{"First pet?", "City of birth?"}) {
			t.Fatalf("inspect: %+v %v", in, err)
		}
		// Normalized: case, spaces, NFKC.
		right := []recovery.QA{{Question: "First pet?", Answer: "rex the dog"}, {Question: "City of birth?", Answer: "tilburg"}}
		if _, _, err := h.app.VerifyPasswordReset(ctx, tok, nil, right); err != nil {
			t.Fatalf("right answers: %v", err)
		}
		wrong := []recovery.QA{{Question: "First pet?", Answer: "rex the dog"}, {Question: "City of birth?", Answer: "breda"}}
		for i := 0; i < 3; i++ {
			if _, _, err := h.app.VerifyPasswordReset(ctx, tok, nil, wrong); reason(err) != recovery.ReasonAnswersInvalid {
				t.Fatalf("wrong answers %d: %v", i, err)
			}
		}
		if !slices.Equal(h.cred.failed, []string{app.FailedResetAnswers, app.FailedResetAnswers, app.FailedResetAnswers}) {
			t.Fatalf("failed attempts %v", h.cred.failed)
		}
		if _, _, err := h.app.VerifyPasswordReset(ctx, tok, nil, right); reason(err) != recovery.ReasonLinkTokenInvalid {
			t.Fatalf("after 3 wrong tries: %v", err)
		}
	})
}

func TestSetSecurityQuestions_RulesAndRecentAuth(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		a := h.account("jan", app.StatusActive)
		qs := []recovery.QA{{Question: "Q one?", Answer: "answer"}, {Question: "Q two?", Answer: "answer"}}
		if err := h.app.SetSecurityQuestions(ctx, h.user(a, time.Minute), qs); reason(err) != "SECURITY_QUESTIONS_DISABLED" {
			t.Fatalf("tenant without questions: %v", err)
		}
		h.tenant.Policy.SecurityQuestions, h.tenant.Policy.QuestionsRequired = true, 2
		if err := h.app.SetSecurityQuestions(ctx, h.user(a, 10*time.Minute), qs); reason(err) != "REAUTHENTICATION_REQUIRED" {
			t.Fatalf("stale auth: %v", err)
		}
		bad := []recovery.QA{{Question: "Same?", Answer: "a"}, {Question: " same? ", Answer: ""}}
		err := h.app.SetSecurityQuestions(ctx, h.user(a, time.Minute), bad)
		var fields []string
		if e, ok := err.(*errs.Error); ok {
			for _, f := range e.Fields {
				fields = append(fields, f.Field+":"+f.Reason)
			}
		}
		want := []string{"questions[0].answer:TOO_SHORT", "questions[1].question:DUPLICATE_QUESTION", "questions[1].answer:REQUIRED"}
		if !slices.Equal(fields, want) {
			t.Fatalf("violations %v, want %v", fields, want)
		}
		if s, _ := h.app.GetRecoveryInfo(ctx, a.TenantID, a.ID); s.InfoSet {
			t.Fatal("recovery info set before any question")
		}
		if err := h.app.SetSecurityQuestions(ctx, h.user(a, time.Minute), qs[:1]); reason(err) != "TOO_FEW_QUESTIONS" {
			t.Fatalf("too few: %v", err)
		}
		if err := h.app.SetSecurityQuestions(ctx, h.user(a, time.Minute), qs); err != nil {
			t.Fatal(err)
		}
		s, err := h.app.GetRecoveryStatus(ctx, h.user(a, time.Hour))
		if err != nil || !s.QuestionsSet || !s.InfoSet || s.Required != 2 || !slices.Equal(s.Questions, []string{"Q one?", "Q two?"}) {
			t.Fatalf("status %+v %v", s, err)
		}
		if n := h.events(recoveryevents.SubjectSecurityQuestionsSet); n != 1 {
			t.Fatalf("%d SecurityQuestionsSet", n)
		}
	})
}

func TestActivation_InvitedThenCompleted_OnceOnly(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		a := h.account("new", app.StatusPending)
		st := h.st
		eventID := ids.New()
		// The event says where the e-mail goes; the request carries it,
		// so that the notification service need not read the account.
		to := recovery.Recipient{Address: "new@example.com", Name: "New Person", Locale: "nl"}
		for range 2 { // a redelivered event issues nothing new
			err := h.db.InTx(ctx, func(tx dbx.Tx) error { return h.app.Invited(ctx, st.Bind(tx), a.TenantID, a.ID, eventID, to) })
			if err != nil {
				t.Fatal(err)
			}
		}
		ms := h.mails()
		if len(ms) != 1 || ms[0].GetTemplate().String() != "ACTIVATION" {
			t.Fatalf("activation e-mails %v", ms)
		}
		if r := ms[0].GetRecipient(); r.GetAddress() != to.Address || r.GetDisplayName() != to.Name || ms[0].GetLocale() != "nl" {
			t.Fatalf("activation e-mail to %v, locale %q; want the invitation's recipient", r, ms[0].GetLocale())
		}
		tok := ms[0].GetVariables()["token"]
		if _, _, err := h.app.CompleteActivation(ctx, tok, "short"); !errs.Is(err, errs.KindInvalid) {
			t.Fatalf("weak: %v", err)
		}
		n := race(20, func() error { _, _, err := h.app.CompleteActivation(ctx, tok, "a-long-first-password"); return err })
		if n != 1 {
			t.Fatalf("%d of 20 activations won, want 1", n)
		}
		if !slices.Equal(h.dir.activated, []string{a.ID}) || h.cred.password(a.ID) != "a-long-first-password" {
			t.Fatalf("activated %v", h.dir.activated)
		}
		// A reset link cannot activate, an activation link cannot reset.
		if _, err := h.app.InspectPasswordReset(ctx, tok); reason(err) != recovery.ReasonLinkTokenInvalid {
			t.Fatalf("activation token at reset: %v", err)
		}
	})
}

func TestAdmin_ResendActivationPendingOnly_SendPasswordResetSameTenant(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		admin := h.account("admin", app.StatusActive)
		admin.Roles = []string{"ADMIN"}
		p := h.user(admin, time.Hour)
		p.Roles = []string{"ADMIN"}
		pending := h.account("new", app.StatusPending)
		active := h.account("old", app.StatusActive)
		if err := h.app.ResendActivation(ctx, p, active.ID); reason(err) != "ACCOUNT_NOT_PENDING" {
			t.Fatalf("resend to an active account: %v", err)
		}
		if err := h.app.ResendActivation(ctx, p, pending.ID); err != nil {
			t.Fatal(err)
		}
		if err := h.app.SendPasswordReset(ctx, p, active.ID); err != nil {
			t.Fatal(err)
		}
		user := h.user(active, time.Hour)
		if err := h.app.SendPasswordReset(ctx, user, pending.ID); !errs.Is(err, errs.KindPermissionDenied) {
			t.Fatalf("a user sending a reset: %v", err)
		}
		other := &app.Tenant{ID: ids.New(), Code: "other"}
		h.dir.tenants[other.ID] = other
		stranger := *p
		stranger.TenantID = other.ID
		if err := h.app.SendPasswordReset(ctx, &stranger, active.ID); !errs.Is(err, errs.KindNotFound) {
			t.Fatalf("another tenant's admin: %v", err)
		}
		if len(h.mails()) != 2 {
			t.Fatalf("%d e-mails, want 2", len(h.mails()))
		}
	})
}

func TestVoidLinksAfterChange_OnlyLinksIssuedBefore(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		a := h.account("jan", app.StatusActive)
		before := h.resetLink(a)
		changedAt := h.clock.Advance(time.Minute)
		h.clock.Advance(time.Minute)
		st := h.st
		after := h.resetLink(a) // voids before too, as a newer link
		h.clock.Advance(time.Minute)
		err := h.db.InTx(ctx, func(tx dbx.Tx) error {
			_, err := h.app.VoidLinksAfterChange(ctx, st.Bind(tx), a.TenantID, a.ID, changedAt)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.app.InspectPasswordReset(ctx, before); reason(err) != recovery.ReasonLinkTokenInvalid {
			t.Fatalf("old link: %v", err)
		}
		if _, err := h.app.InspectPasswordReset(ctx, after); err != nil {
			t.Fatalf("a link issued after the change was voided: %v", err)
		}
		if n, err := h.app.RevokeLinkTokens(ctx, a.TenantID, a.ID); err != nil || n != 1 {
			t.Fatalf("revoke: %d %v", n, err)
		}
	})
}

// A new e-mail address voids the links sent before and the proof of the
// old address (GET /v1/me/recovery's emailVerified); a proof made after
// the change stands when the change's event is handled after it.
func TestEmailChanged_VoidsEarlierLinksAndForgetsTheOldProof(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		a := h.account("jan", app.StatusActive)
		verified := func() bool {
			t.Helper()
			s, err := h.app.GetRecoveryInfo(ctx, a.TenantID, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			return s.EmailVerified
		}
		emailChanged := func(at time.Time) {
			t.Helper()
			if err := h.db.InTx(ctx, func(tx dbx.Tx) error {
				return h.app.EmailChanged(ctx, h.st.Bind(tx), a.TenantID, a.ID, at)
			}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := h.app.CompletePasswordReset(ctx, h.resetLink(a), "", "a-long-new-password"); err != nil {
			t.Fatal(err)
		}
		if !verified() {
			t.Fatal("a completed reset did not verify the address")
		}
		h.clock.Advance(time.Minute)
		sent := h.resetLink(a)
		changedAt := h.clock.Advance(time.Minute)
		h.clock.Advance(time.Minute)
		emailChanged(changedAt)
		if verified() {
			t.Fatal("the old address's proof stands for the new address")
		}
		if _, err := h.app.InspectPasswordReset(ctx, sent); reason(err) != recovery.ReasonLinkTokenInvalid {
			t.Fatalf("a link sent to the old address: %v", err)
		}

		h.clock.Advance(time.Minute)
		if _, err := h.app.CompletePasswordReset(ctx, h.resetLink(a), "", "another-long-password"); err != nil {
			t.Fatal(err)
		}
		emailChanged(changedAt) // its event handled only now, after that proof
		if !verified() {
			t.Fatal("a proof of the new address was forgotten by the change before it")
		}
	})
}

var _ store.Tx

func race(n int, fn func() error) int {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		wins  int
		start = make(chan struct{})
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if fn() == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	return wins
}
