package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/services/mfa/internal/factor"
)

// Factors is the signed-in user's view of their two-step verification.
type Factors struct {
	// Factors holds the account's factor, confirmed or not (empty: none).
	Factors                []*factor.Factor
	RecoveryCodesRemaining int
}

// ListFactors returns the signed-in caller's factors.
func (a *App) ListFactors(ctx context.Context, p *authn.Principal) (*Factors, error) {
	if err := authn.RequireAccount(p); err != nil {
		return nil, err
	}
	f, err := a.factor(ctx, p.TenantID, p.AccountID)
	if err != nil {
		return nil, err
	}
	n, err := a.store.UnusedRecoveryCodes(ctx, p.TenantID, p.AccountID)
	if err != nil {
		return nil, err
	}
	out := &Factors{RecoveryCodesRemaining: n}
	if f != nil {
		out.Factors = append(out.Factors, f)
	}
	return out, nil
}
