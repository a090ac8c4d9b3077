package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/errs"
)

// SessionLive reports whether the tenant's session exists and is not
// revoked, from the store: what services whose revocation feed is behind
// or disconnected ask (CheckSession), and what this service's own
// verifier asks then. A malformed or unknown id is simply not live.
func (a *App) SessionLive(ctx context.Context, tenantID, sessionID string) (bool, error) {
	if checkID("tenantId", tenantID) != nil || checkID("sessionId", sessionID) != nil {
		return false, nil
	}
	s, err := a.Store.GetSession(ctx, tenantID, sessionID)
	switch {
	case errs.Is(err, errs.KindNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return s.RevokedAt == nil, nil
}
