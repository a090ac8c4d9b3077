package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/events"
	"github.com/latchkey/latchkey/services/recovery/internal/recovery"
	"github.com/latchkey/latchkey/services/recovery/internal/store"
)

// maxRequestAttempts is how often a forgot-password request is tried
// (the account service unreachable) before it is dropped.
const maxRequestAttempts = 10

// RunWorker resolves queued forgot-password requests until ctx ends: at
// once when woken, else every Poll.
func (a *App) RunWorker(ctx context.Context) error {
	for {
		n, err := a.ProcessResetRequests(ctx)
		if err != nil && ctx.Err() == nil {
			a.log.Warn("recovery: reset requests", "error", err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if n == 0 {
			if !clock.Wait(ctx, a.opts.Poll, a.wake) {
				return ctx.Err()
			}
		}
	}
}

// ProcessResetRequests claims the waiting forgot-password requests and
// handles them; it returns how many it claimed.
func (a *App) ProcessResetRequests(ctx context.Context) (int, error) {
	reqs, err := a.Store.Claim(ctx, a.Clock.Now(), a.opts.Lease, 16)
	if err != nil {
		return 0, err
	}
	for _, r := range reqs {
		if err := a.handleResetRequest(ctx, r); err != nil {
			a.log.Warn("recovery: reset request not handled yet", "request", r.ID, "attempt", r.Attempts, "error", err)
			if r.Attempts >= maxRequestAttempts {
				_ = a.Store.InTx(ctx, func(tx store.Tx) error { return tx.DeleteRequest(ctx, r.ID) })
			}
		}
	}
	return len(reqs), nil
}

// handleResetRequest finds the account a request names and, when there is
// one that may reset (ACTIVE; LOCKED, as the e-mail proves the inbox;
// PENDING, whose reset activates it), e-mails it a reset link. An unknown
// tenant or login, a disabled account, or a tenant without e-mailed links
// gets nothing. The request is deleted with the link, in one transaction.
func (a *App) handleResetRequest(ctx context.Context, r *recovery.ResetRequest) error {
	drop := func() error { return a.Store.InTx(ctx, func(tx store.Tx) error { return tx.DeleteRequest(ctx, r.ID) }) }
	acct, err := a.Accounts.ResolveLogin(ctx, r.TenantCode, r.Login)
	if errs.Is(err, errs.KindNotFound) || errs.Is(err, errs.KindInvalid) {
		return drop()
	}
	if err != nil {
		return err
	}
	switch acct.Status {
	case StatusActive, StatusLocked, StatusPending:
	default:
		return drop()
	}
	tenant, err := a.Accounts.Tenant(ctx, acct.TenantID)
	if err != nil {
		return err
	}
	if !tenant.Policy.EmailLink {
		return drop()
	}
	return a.Store.InTx(ctx, func(tx store.Tx) error {
		if _, err := a.issueInTx(ctx, tx, link{tenantID: acct.TenantID, accountID: acct.ID, kind: recovery.Reset,
			requestID: r.ID, actor: events.ActorOf(nil, "")}); err != nil {
			return err
		}
		return tx.DeleteRequest(ctx, r.ID)
	})
}
