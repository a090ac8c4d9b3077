package app_test

import (
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/libs/testkit"
	"github.com/latchkey/latchkey/services/recovery/internal/app"
	"github.com/latchkey/latchkey/services/recovery/internal/recovery"
)

// noteOf is how fakeDir records a NoteSecurityChange for a.
func noteOf(a *app.Account) string { return a.TenantID + "/" + a.ID }

// statusAtNote collects what GetRecoveryInfo reports at each
// NoteSecurityChange: the account service, told of a change, must be able
// to read it already (the note comes after the commit).
func (h *harness) statusAtNote() *[]*app.Status {
	seen := &[]*app.Status{}
	h.dir.onNote = func(tenantID, accountID string) {
		s, err := h.app.GetRecoveryInfo(ctx, tenantID, accountID)
		if err != nil {
			h.t.Errorf("status at the note: %v", err)
			return
		}
		*seen = append(*seen, s)
	}
	return seen
}

func TestSetSecurityQuestions_NotesTheChangeAfterCommit(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		a := h.account("jan", app.StatusActive)
		h.account("piet", app.StatusActive)
		seen := h.statusAtNote()
		qs := []recovery.QA{{Question: "Q one?", Answer: "answer"}, {Question: "Q two?", Answer: "answer"}}

		// Refused changes note nothing.
		if err := h.app.SetSecurityQuestions(ctx, h.user(a, time.Minute), qs); reason(err) != "SECURITY_QUESTIONS_DISABLED" {
			t.Fatalf("tenant without questions: %v", err)
		}
		h.tenant.Policy.SecurityQuestions, h.tenant.Policy.QuestionsRequired = true, 2
		if err := h.app.SetSecurityQuestions(ctx, h.user(a, 10*time.Minute), qs); reason(err) != "REAUTHENTICATION_REQUIRED" {
			t.Fatalf("stale auth: %v", err)
		}
		if err := h.app.SetSecurityQuestions(ctx, h.user(a, time.Minute), qs[:1]); reason(err) != "TOO_FEW_QUESTIONS" {
			t.Fatalf("too few: %v", err)
		}
		if got := h.dir.noted(); len(got) != 0 {
			t.Fatalf("refused changes noted %v", got)
		}

		if err := h.app.SetSecurityQuestions(ctx, h.user(a, time.Minute), qs); err != nil {
			t.Fatal(err)
		}
		if got := h.dir.noted(); !slices.Equal(got, []string{noteOf(a)}) {
			t.Fatalf("noted %v, want %v", got, []string{noteOf(a)})
		}
		if len(*seen) != 1 || !(*seen)[0].QuestionsSet || !(*seen)[0].InfoSet {
			t.Fatalf("status when noted %+v: noted before the change committed", *seen)
		}

		// Every set is noted (new answers alone change nothing the status
		// shows, but telling them apart would take a read and leave a race).
		other := []recovery.QA{{Question: "Q one?", Answer: "answer"}, {Question: "Q three?", Answer: "answer"}}
		if err := h.app.SetSecurityQuestions(ctx, h.user(a, time.Minute), other); err != nil {
			t.Fatal(err)
		}
		if got := h.dir.noted(); !slices.Equal(got, []string{noteOf(a), noteOf(a)}) {
			t.Fatalf("noted %v after a new question", got)
		}
		if len(*seen) != 2 || !slices.Equal((*seen)[1].Questions, []string{"Q one?", "Q three?"}) {
			t.Fatalf("status when noted %+v", *seen)
		}
	})
}

func TestCompletedLinks_NoteTheProofOfTheEmailAddress(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		seen := h.statusAtNote()
		var want []string
		wantNotes := func(step string) {
			t.Helper()
			if got := h.dir.noted(); !slices.Equal(got, want) {
				t.Fatalf("%s: noted %v, want %v", step, got, want)
			}
			for _, s := range *seen {
				if !s.EmailVerified {
					t.Fatalf("%s: noted before the e-mail address was verified", step)
				}
			}
		}

		// An activation.
		newbie := h.account("new", app.StatusPending)
		err := h.db.InTx(ctx, func(tx dbx.Tx) error {
			return h.app.Invited(ctx, h.st.Bind(tx), newbie.TenantID, newbie.ID, ids.New(), recovery.Recipient{})
		})
		if err != nil {
			t.Fatal(err)
		}
		tok := h.lastToken(newbie.ID)
		if _, _, err := h.app.CompleteActivation(ctx, tok, "short"); !errs.Is(err, errs.KindInvalid) {
			t.Fatalf("weak first password: %v", err)
		}
		wantNotes("refused activation")
		if _, _, err := h.app.CompleteActivation(ctx, tok, "a-long-first-password"); err != nil {
			t.Fatal(err)
		}
		want = append(want, noteOf(newbie))
		wantNotes("activation")

		// A reset by the link alone.
		jan := h.account("jan", app.StatusActive)
		tok = h.resetLink(jan)
		if _, err := h.app.CompletePasswordReset(ctx, tok, "", "short"); !errs.Is(err, errs.KindInvalid) {
			t.Fatalf("weak password: %v", err)
		}
		wantNotes("refused reset")
		if _, err := h.app.CompletePasswordReset(ctx, tok, "", "a-long-new-password"); err != nil {
			t.Fatal(err)
		}
		want = append(want, noteOf(jan))
		wantNotes("reset by the link")

		// A reset with a second factor, by a ticket.
		eva := h.account("eva", app.StatusActive)
		h.mfa.needs[eva.ID] = true
		tok = h.resetLink(eva)
		if _, err := h.app.CompletePasswordReset(ctx, tok, "", "a-long-new-password"); reason(err) != recovery.ReasonVerificationRequired {
			t.Fatalf("link alone with a factor: %v", err)
		}
		wrong := "000000"
		if _, _, err := h.app.VerifyPasswordReset(ctx, tok, &wrong, nil); reason(err) != recovery.ReasonTOTPInvalid {
			t.Fatalf("wrong code: %v", err)
		}
		wantNotes("refused proofs")
		code := "123456"
		ticket, _, err := h.app.VerifyPasswordReset(ctx, tok, &code, nil)
		if err != nil {
			t.Fatal(err)
		}
		wantNotes("verified, not completed")
		if _, err := h.app.CompletePasswordReset(ctx, "", ticket, "a-long-new-password"); err != nil {
			t.Fatal(err)
		}
		want = append(want, noteOf(eva))
		wantNotes("reset by a ticket")

		// Proven already: another reset is noted too (a link is used
		// rarely; telling would take a read).
		tok = h.resetLink(jan)
		if _, err := h.app.CompletePasswordReset(ctx, tok, "", "another-long-password"); err != nil {
			t.Fatal(err)
		}
		want = append(want, noteOf(jan))
		wantNotes("second reset")
	})
}

// Links issued, inspected or voided change nothing GetRecoveryInfo
// reports.
func TestLinksIssuedOrVoided_NoteNothing(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		admin := h.account("admin", app.StatusActive)
		admin.Roles = []string{"ADMIN"}
		p := h.user(admin, time.Hour)
		pending := h.account("new", app.StatusPending)
		a := h.account("jan", app.StatusActive)
		err := h.db.InTx(ctx, func(tx dbx.Tx) error {
			return h.app.Invited(ctx, h.st.Bind(tx), pending.TenantID, pending.ID, ids.New(), recovery.Recipient{})
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := h.app.ResendActivation(ctx, p, pending.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := h.app.IssueActivation(ctx, pending.TenantID, pending.ID, ids.New()); err != nil {
			t.Fatal(err)
		}
		if err := h.app.SendPasswordReset(ctx, p, a.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := h.app.IssuePasswordReset(ctx, a.TenantID, a.ID, ids.New()); err != nil {
			t.Fatal(err)
		}
		tok := h.resetLink(a)
		if _, err := h.app.InspectPasswordReset(ctx, tok); err != nil {
			t.Fatal(err)
		}
		err = h.db.InTx(ctx, func(tx dbx.Tx) error {
			_, err := h.app.VoidLinksAfterChange(ctx, h.st.Bind(tx), a.TenantID, a.ID, h.clock.Now())
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.app.RevokeLinkTokens(ctx, pending.TenantID, pending.ID); err != nil {
			t.Fatal(err)
		}
		if got := h.dir.noted(); len(got) != 0 {
			t.Fatalf("noted %v", got)
		}
	})
}

func TestNoteSecurityChangeFailing_ChangeStandsCallSucceedsWarningLogged(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		logs := &testkit.LogBuffer{}
		use := app.New(h.app.Deps, app.Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})
		h.dir.noteErr = errs.Unavailable("UNAVAILABLE", "the account service is not answering", nil)
		h.tenant.Policy.SecurityQuestions, h.tenant.Policy.QuestionsRequired = true, 1

		a := h.account("jan", app.StatusActive)
		if err := use.SetSecurityQuestions(ctx, h.user(a, time.Minute), []recovery.QA{{Question: "Q one?", Answer: "answer"}}); err != nil {
			t.Fatalf("set questions, the note failing: %v", err)
		}
		if s, err := use.GetRecoveryInfo(ctx, a.TenantID, a.ID); err != nil || !s.QuestionsSet {
			t.Fatalf("questions after a failed note: %+v %v", s, err)
		}

		b := h.account("piet", app.StatusActive)
		tok := h.resetLink(b)
		if _, err := use.CompletePasswordReset(ctx, tok, "", "a-long-new-password"); err != nil {
			t.Fatalf("reset, the note failing: %v", err)
		}
		if s, err := use.GetRecoveryInfo(ctx, b.TenantID, b.ID); err != nil || !s.EmailVerified {
			t.Fatalf("e-mail address after a failed note: %+v %v", s, err)
		}

		if got := h.dir.noted(); !slices.Equal(got, []string{noteOf(a), noteOf(b)}) {
			t.Fatalf("noted %v", got)
		}
		for _, acct := range []*app.Account{a, b} {
			found := false
			for _, line := range strings.Split(logs.String(), "\n") {
				if strings.Contains(line, "level=WARN") && strings.Contains(line, "tenant="+acct.TenantID) &&
					strings.Contains(line, "account="+acct.ID) {
					found = true
				}
			}
			if !found {
				t.Fatalf("no WARN naming %s in the log:\n%s", noteOf(acct), logs.String())
			}
		}
	})
}
