package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/events"
	"github.com/latchkey/latchkey/services/account/internal/account"
)

// AcceptTerms records that the signed-in user accepted version, which must
// be their tenant's current one.
func (a *App) AcceptTerms(ctx context.Context, p *authn.Principal, version string) (*account.Account, error) {
	if err := authn.RequireAccount(p); err != nil {
		return nil, err
	}
	return a.recordTermsAcceptance(ctx, p.TenantID, p.AccountID, version, "version", events.ActorOf(p, ""))
}
