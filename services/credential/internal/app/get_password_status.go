package app

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/services/credential/internal/credential"
)

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
	pw, err := a.Store.GetPassword(ctx, tenantID, accountID)
	switch {
	case errs.Is(err, errs.KindNotFound):
	case err != nil:
		return nil, err
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
	if _, err := a.Store.GetPIN(ctx, tenantID, accountID); err == nil {
		st.PINSet = true
	} else if !errs.Is(err, errs.KindNotFound) {
		return nil, err
	}
	if st.FailedCount, err = a.Store.FailedCount(ctx, tenantID, accountID); err != nil {
		return nil, err
	}
	return st, nil
}
