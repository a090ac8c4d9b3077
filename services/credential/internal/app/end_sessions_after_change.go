package app

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/services/credential/internal/store"
)

// EndSessionsAfterChange ends, in tx (an inbox consumer's, so the event
// counts as handled only with its effect), the account's sessions begun at
// or before changedAt, when another service's event says they may no longer
// be used: its roles changed (ROLES_CHANGED: the access tokens carry the
// old ones), it was locked or disabled. The account service also asks at
// once (RevokeAllSessions); this is what ends them when that call failed.
// A session the call or an earlier delivery already ended is left as it
// is, with no second SessionRevoked; one begun after the change is the
// account's new state and stays (clocks of the two services are taken to
// agree within the time a log-in takes). It returns how many sessions it ended.
func (a *App) EndSessionsAfterChange(ctx context.Context, tx store.Tx, tenantID, accountID, reason string, changedAt time.Time) (int, error) {
	if err := errs.JoinInvalid(checkID("tenantId", tenantID), checkID("accountId", accountID)); err != nil {
		return 0, err
	}
	now := a.Clock.Now()
	if changedAt.IsZero() {
		// An event that does not say when: every session so far.
		changedAt = now
	}
	revoked, err := tx.RevokeSessionsCreatedBy(ctx, tenantID, accountID, changedAt, now)
	if err != nil {
		return 0, err
	}
	return len(revoked), a.emitRevoked(ctx, tx, tenantID, accountID, revoked, reason, nil, now)
}
