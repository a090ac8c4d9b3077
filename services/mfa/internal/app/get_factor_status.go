package app

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/services/mfa/internal/factor"
)

// FactorStatus is what the other services need to know of an account's
// second factor.
type FactorStatus struct {
	TOTPEnabled            bool
	EnabledAt              *time.Time
	RecoveryCodesRemaining int
	// EmailedKeyPending: no confirmed factor, but a key e-mailed on
	// request waits for its first code (a log-in asks for a code rather
	// than starting an enrolment).
	EmailedKeyPending bool
}

// GetFactorStatus returns the status of the account's second factor.
func (a *App) GetFactorStatus(ctx context.Context, tenantID, accountID string) (*FactorStatus, error) {
	if err := checkAccountRef(tenantID, accountID); err != nil {
		return nil, err
	}
	f, err := a.factor(ctx, tenantID, accountID)
	if err != nil {
		return nil, err
	}
	st := &FactorStatus{}
	switch {
	case f.Confirmed():
		st.TOTPEnabled, st.EnabledAt = true, f.ConfirmedAt
		if st.RecoveryCodesRemaining, err = a.store.UnusedRecoveryCodes(ctx, tenantID, accountID); err != nil {
			return nil, err
		}
	case f != nil && f.State == factor.Emailed && f.FailedCodes < factor.MaxConfirmFailures:
		st.EmailedKeyPending = true
	}
	return st, nil
}
