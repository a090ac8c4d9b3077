package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/services/credential/internal/credential"
)

// ListSessions returns the caller's live sessions.
func (a *App) ListSessions(ctx context.Context, p *authn.Principal) ([]*credential.Session, error) {
	if _, err := a.signedIn(ctx, p); err != nil {
		return nil, err
	}
	return a.Store.ListSessions(ctx, p.TenantID, p.AccountID)
}
