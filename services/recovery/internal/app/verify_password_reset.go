package app

import (
	"context"
	"slices"
	"time"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/services/recovery/internal/recovery"
	"github.com/latchkey/latchkey/services/recovery/internal/store"
)

// Reasons of RecordFailedAttempt for a reset's wrong proofs (LoginFailed's
// reason).
const (
	FailedResetTOTP    = "RESET_TOTP"
	FailedResetAnswers = "RESET_ANSWERS"
)

// VerifyPasswordReset checks the proofs a reset link needs (answers first,
// so that wrong answers do not spend a code; then the code, through the
// mfa service, a recovery code allowed) and returns a reset ticket for
// CompletePasswordReset and its expiry. Each wrong proof counts as a failed
// log-in of the account (the tenant lockout) and against the link, which is
// void after MaxVerifyTries. The link itself is not used up.
func (a *App) VerifyPasswordReset(ctx context.Context, token string, code *string, answers []recovery.QA) (string, time.Time, error) {
	t, err := a.usableLink(ctx, token, recovery.Reset)
	if err != nil {
		return "", time.Time{}, err
	}
	c, err := a.resetCaseOf(ctx, t)
	if err != nil {
		return "", time.Time{}, err
	}
	needCode, needAnswers := slices.Contains(c.requires, recovery.ProofTOTP), slices.Contains(c.requires, recovery.ProofAnswers)
	var v errs.Violations
	if needCode && (code == nil || *code == "") {
		v.Add("totpCode", "REQUIRED", "this reset needs a code from the authenticator app (or a recovery code)")
	}
	if needAnswers && len(answers) == 0 {
		v.Add("answers", "REQUIRED", "this reset needs the answers to the security questions")
	}
	if err := v.Err(); err != nil {
		return "", time.Time{}, err
	}
	if needAnswers {
		ok, err := a.answersMatch(ctx, c.questions, answers)
		if err != nil {
			return "", time.Time{}, err
		}
		if !ok {
			return "", time.Time{}, a.wrongProof(ctx, t, FailedResetAnswers,
				errs.Unauthenticated(recovery.ReasonAnswersInvalid, "the answers do not match"))
		}
	}
	if needCode {
		ok, err := a.Factors.Verify(ctx, t.TenantID, t.AccountID, *code)
		if err != nil {
			return "", time.Time{}, err
		}
		if !ok {
			return "", time.Time{}, a.wrongProof(ctx, t, FailedResetTOTP,
				errs.Unauthenticated(recovery.ReasonTOTPInvalid, "the code is wrong or was used already"))
		}
	}
	plain, hash := recovery.NewSecret()
	var k *recovery.Ticket
	err = a.Store.InTx(ctx, func(tx store.Tx) error {
		now := a.Clock.Now()
		// The link may have been used or voided while the proofs were
		// checked.
		cur, err := tx.LinkToken(ctx, t.Hash)
		if err != nil {
			return err
		}
		if !cur.Usable(now) {
			return recovery.ErrLinkTokenInvalid()
		}
		k = &recovery.Ticket{Hash: hash, TokenHash: t.Hash, TenantID: t.TenantID, AccountID: t.AccountID,
			VerifiedWith: c.requires, CreatedAt: now, ExpiresAt: now.Add(recovery.TicketTTL)}
		return tx.InsertTicket(ctx, k)
	})
	if err != nil {
		return "", time.Time{}, err
	}
	return plain, k.ExpiresAt, nil
}

// answersMatch checks one answer for every question (matched by the
// question's text, else by position), every hash verified whatever the
// others give, so the time says nothing of which one was wrong.
func (a *App) answersMatch(ctx context.Context, questions []recovery.Question, given []recovery.QA) (bool, error) {
	byQuestion := map[string]string{}
	for _, g := range given {
		byQuestion[recovery.NormalizeAnswer(g.Question)] = g.Answer
	}
	all := true
	for i, q := range questions {
		ans, ok := byQuestion[recovery.NormalizeAnswer(q.Question)]
		if !ok && i < len(given) && given[i].Question == "" {
			ans, ok = given[i].Answer, true
		}
		if !ok {
			ans = "" // verified anyway, and wrong
		}
		match, _, err := a.Hasher.Verify(ctx, q.AnswerHash, recovery.NormalizeAnswer(ans))
		if err != nil {
			return false, err
		}
		all = all && ok && match
	}
	return all, nil
}

// wrongProof counts a wrong proof towards the tenant lockout (credential)
// and against the link, and returns refusal.
func (a *App) wrongProof(ctx context.Context, t *recovery.LinkToken, reason string, refusal error) error {
	if err := a.Credentials.RecordFailedAttempt(ctx, t.TenantID, t.AccountID, reason); err != nil {
		a.log.WarnContext(ctx, "recovery: failed attempt not recorded", "account", t.AccountID, "reason", reason, "error", err)
	}
	err := a.Store.InTx(ctx, func(tx store.Tx) error {
		_, err := tx.CountFailedTry(ctx, t.Hash, a.Clock.Now(), a.opts.MaxVerifyTries)
		return err
	})
	if err != nil {
		return err
	}
	return refusal
}
