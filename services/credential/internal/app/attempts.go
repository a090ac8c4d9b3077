package app

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/services/credential/internal/credential"
	"github.com/latchkey/latchkey/services/credential/internal/store"
)

// RecordFailedAttempt counts a failure another service saw (wrong answers
// to security questions, a wrong code in a reset) like a failed log-in:
// the tenant's limit locks the account. It returns the count and whether
// the account is now locked.
func (a *App) RecordFailedAttempt(ctx context.Context, tenantID, accountID, reason string) (int, bool, error) {
	if err := errs.JoinInvalid(checkID("tenantId", tenantID), checkID("accountId", accountID)); err != nil {
		return 0, false, err
	}
	subj, err := a.Accounts.Lookup(ctx, tenantID, accountID)
	if err != nil {
		return 0, false, err
	}
	var count int
	var reserved bool
	err = a.Store.InTx(ctx, func(tx store.Tx) error {
		var err error
		count, reserved, err = tx.ReserveAttempt(ctx, tenantID, accountID, max(subj.Policy.MaxFailedAttempts, 1))
		return err
	})
	if err != nil {
		return 0, false, err
	}
	if !reserved {
		return count, true, nil
	}
	if reason == "" {
		reason = "RECOVERY_CHECK_FAILED"
	}
	if err := a.failed(ctx, subj, count, reason, Client{}); err != nil {
		return 0, false, err
	}
	return count, count >= subj.Policy.MaxFailedAttempts, nil
}

// ClearFailedAttempts forgets an account's failures (an admin unlocked it).
func (a *App) ClearFailedAttempts(ctx context.Context, tenantID, accountID string) error {
	if err := errs.JoinInvalid(checkID("tenantId", tenantID), checkID("accountId", accountID)); err != nil {
		return err
	}
	return a.Store.InTx(ctx, func(tx store.Tx) error { return tx.ResetAttempts(ctx, tenantID, accountID) })
}

// PasswordStatus is what other services may know of an account's
// password: never the password.
type PasswordStatus struct {
	Set, Temporary, ExpiresSoon, PINSet bool
	ChangedAt, ExpiresAt                *time.Time
	FailedCount                         int
}

// GetPasswordStatus tells whether the account has a password, how old it
// is and when it expires, for the account's profile (GET /v1/me).
func (a *App) GetPasswordStatus(ctx context.Context, tenantID, accountID string) (*PasswordStatus, error) {
	if err := errs.JoinInvalid(checkID("tenantId", tenantID), checkID("accountId", accountID)); err != nil {
		return nil, err
	}
	policy, err := a.Accounts.Policy(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	st := &PasswordStatus{}
	err = a.Store.InTx(ctx, func(tx store.Tx) error {
		pw, err := tx.GetPassword(ctx, tenantID, accountID)
		switch {
		case errs.Is(err, errs.KindNotFound):
		case err != nil:
			return err
		default:
			st.Set, st.Temporary, st.ChangedAt = true, pw.Temporary, &pw.ChangedAt
			f := credential.Facts{Now: a.Clock.Now(), Password: pw, MaxAgeDays: policy.MaxAgeDays, ExpiryWarningDays: policy.ExpiryWarningDays}
			if policy.MaxAgeDays > 0 {
				e := pw.ChangedAt.Add(time.Duration(policy.MaxAgeDays) * 24 * time.Hour)
				st.ExpiresAt = &e
			}
			for _, p := range f.Prompts() {
				st.ExpiresSoon = st.ExpiresSoon || p == credential.PromptPasswordExpiresSoon
			}
		}
		if _, err := tx.GetPIN(ctx, tenantID, accountID); err == nil {
			st.PINSet = true
		} else if !errs.Is(err, errs.KindNotFound) {
			return err
		}
		st.FailedCount, err = tx.FailedCount(ctx, tenantID, accountID)
		return err
	})
	return st, err
}
