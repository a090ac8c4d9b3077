package app

import (
	"context"
	"errors"
	"time"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/services/mfa/internal/factor"
	"github.com/latchkey/latchkey/services/mfa/internal/store"
)

// keyBatch is how many key requests the worker takes at once.
const keyBatch = 10

// RunKeyWorker handles queued key requests until ctx is cancelled: at
// once when woken, else every Poll. Failures are logged and retried,
// never returned.
func (a *App) RunKeyWorker(ctx context.Context) error {
	backoff := time.Duration(0)
	for {
		n, err := a.HandleKeyRequests(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			backoff = min(max(2*backoff, 100*time.Millisecond), 10*time.Second)
			a.log.Warn("mfa key worker: claim failed; retrying", "err", err, "retry_in", backoff)
			if !clock.Wait(ctx, backoff, nil) {
				return nil
			}
			continue
		}
		backoff = 0
		if n > 0 {
			continue
		}
		if !clock.Wait(ctx, a.opts.Poll, a.wake) {
			return nil
		}
	}
}

// HandleKeyRequests handles the key requests due now and returns how many
// it took. One that fails is tried again after the lease, up to
// MaxKeyAttempts times.
func (a *App) HandleKeyRequests(ctx context.Context) (int, error) {
	reqs, err := a.store.ClaimKeyRequests(ctx, a.clock.Now(), a.opts.Lease, keyBatch)
	if err != nil {
		return 0, err
	}
	for _, r := range reqs {
		err := a.handleKeyRequest(ctx, r)
		if err != nil && r.Attempts < a.opts.MaxKeyAttempts {
			a.log.WarnContext(ctx, "mfa key request failed; it is tried again", "request_id", r.ID, "attempt", r.Attempts, "err", err)
			continue
		}
		if err != nil {
			a.log.ErrorContext(ctx, "mfa key request dropped after its last attempt", "request_id", r.ID, "attempt", r.Attempts, "err", err)
		}
		if err := a.store.DeleteKeyRequest(ctx, r.ID); err != nil && ctx.Err() == nil {
			a.log.WarnContext(ctx, "mfa key request not deleted; it is handled again (idempotent)", "request_id", r.ID, "err", err)
		}
	}
	return len(reqs), nil
}

// handleKeyRequest resolves r's login and, when the account exists, may
// sign in and has no confirmed factor, e-mails the key of its pending
// e-mailed factor (made now, or the one e-mailed before). Nothing happens
// for a login that names no account. The request id makes the e-mail
// idempotent, so a retry after a failure sends one e-mail.
func (a *App) handleKeyRequest(ctx context.Context, r *factor.KeyRequest) error {
	acct, t, err := a.dir.ResolveLogin(ctx, r.TenantCode, r.Login)
	if errs.Is(err, errs.KindNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if acct.Disabled {
		return nil
	}
	f, err := a.factor(ctx, t.ID, acct.ID)
	if err != nil {
		return err
	}
	var secret string
	switch {
	case f.Confirmed():
		// Losing a phone is the administrator's reset or a recovery
		// code, never a new key by e-mail.
		return nil
	case f != nil && f.State == factor.Emailed && f.FailedCodes < factor.MaxConfirmFailures:
		if secret, err = a.secret(f); err != nil {
			return err
		}
	default:
		secret = factor.NewSecret()
		nf := a.newFactor(t.ID, acct.ID, secret, factor.Emailed, a.clock.Now())
		err := a.store.InTx(ctx, func(tx store.Tx) error { return tx.PutFactor(ctx, nf) })
		if errors.Is(err, store.ErrConfirmedFactor) {
			return nil
		}
		if err != nil {
			return err
		}
		// Noted before the e-mail goes, so the user who reads it sees
		// the pending key.
		a.noteSecurityChange(ctx, t.ID, acct.ID)
	}
	uri, err := factor.KeyURI(secret, t.Issuer(), acct.Username)
	if err != nil {
		return err
	}
	return a.mailer.SendKey(ctx, r.ID, t.ID, acct.ID, secret, uri)
}
