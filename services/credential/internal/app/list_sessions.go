package app

import (
	"context"
	"slices"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/services/credential/internal/credential"
)

// ListSessions returns the caller's live sessions: not revoked, and not
// past the tenant's session policy (such a session can no longer be
// refreshed, even if its revocation waits for that refresh).
func (a *App) ListSessions(ctx context.Context, p *authn.Principal) ([]*credential.Session, error) {
	subj, err := a.signedIn(ctx, p)
	if err != nil {
		return nil, err
	}
	list, err := a.Store.ListSessions(ctx, p.TenantID, p.AccountID)
	if err != nil {
		return nil, err
	}
	now := a.Clock.Now()
	return slices.DeleteFunc(list, func(s *credential.Session) bool { return s.Ended(subj.Policy.Session, now) != "" }), nil
}
