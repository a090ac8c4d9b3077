package app

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/services/account/internal/account"
	"github.com/latchkey/latchkey/services/account/internal/store"
)

// RecordLogin notes a successful log-in (a LoginSucceeded event of the
// credential service) in tx, the consumer's transaction that also records
// the event id. The last log-in only moves forward, so events that arrive
// late or twice change nothing; an account that no longer exists is
// ignored.
func (a *App) RecordLogin(ctx context.Context, tx store.Tx, tenantID, accountID string, at time.Time) error {
	if err := checkAccountRef(tenantID, accountID); err != nil {
		return err
	}
	if at.IsZero() {
		return errs.Invalid(errs.Field("occurTime", account.ReasonRequired, "the log-in time is required"))
	}
	_, err := tx.RecordLogin(ctx, tenantID, accountID, at)
	return err
}
