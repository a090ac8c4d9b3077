package app

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/services/credential/internal/credential"
	"github.com/latchkey/latchkey/services/credential/internal/events"
	"github.com/latchkey/latchkey/services/credential/internal/store"
	"github.com/latchkey/latchkey/services/credential/internal/token"
)

// Refresh trades a refresh token for new tokens; the old refresh token is
// spent. Presenting a spent one means a copy exists: the whole session is
// revoked and the event says so, in the transaction that found the reuse —
// unless it was spent less than credential.RefreshReuseGrace ago, when the
// same client refreshing twice at once is likelier than a theft: that
// answer is the token that replaced it (sealed on the spent one's row),
// with a new access token. A session past its tenant's session policy (its
// lifetime since the log-in, or unused for too long) is revoked instead of
// continued, with its SessionRevoked event.
func (a *App) Refresh(ctx context.Context, refresh string, c Client) (*Tokens, error) {
	if refresh == "" {
		return nil, errs.Invalid(errs.Field("refreshToken", "REQUIRED", "required"))
	}
	invalid := errs.Unauthenticated("REFRESH_TOKEN_INVALID", "the refresh token is unknown, spent or expired: log in again")
	hash := token.HashSecret(refresh)
	var sess *credential.Session
	var reused, pending bool
	// given is the successor a spent token gets within the grace ("": a
	// fresh one is made).
	var given string
	spend := func(tx store.Tx) error {
		now := a.Clock.Now()
		used, isReuse, err := tx.UseRefreshToken(ctx, hash, now)
		if err != nil {
			return err
		}
		if isReuse && used.UsedAt != nil && now.Sub(*used.UsedAt) <= credential.RefreshReuseGrace {
			if used.Successor == nil {
				pending = true // the refresh that spent it has not committed yet
				return nil
			}
			if given, err = token.OpenSuccessor(refresh, used.Successor); err != nil {
				return err // cannot be: the token is the one whose hash found the row
			}
			isReuse = false
		}
		if reused = isReuse; reused {
			if err := tx.Emit(ctx, events.RefreshTokenReused(used, c.IP, c.UserAgent, now)); err != nil {
				return err
			}
			_, err := a.revokeInTx(ctx, tx, used.TenantID, used.AccountID, "", "REFRESH_TOKEN_REUSED", nil, now, used.SessionID)
			return err
		}
		if sess, err = tx.GetSession(ctx, used.TenantID, used.SessionID); err != nil {
			return err
		}
		if sess.RevokedAt != nil {
			return invalid
		}
		return nil
	}
	err := a.Store.InTx(ctx, spend)
	// The twin refresh that spent the token is between its two
	// transactions: its successor comes within moments.
	for wait := 0; err == nil && pending && wait < successorWaits; wait++ {
		time.Sleep(successorPoll)
		pending = false
		err = a.Store.InTx(ctx, spend)
	}
	switch {
	case errs.Is(err, errs.KindNotFound):
		return nil, invalid
	case err != nil:
		return nil, err
	case reused, pending:
		return nil, invalid
	}
	// The session policy comes with the account, from the account
	// service: asked between the transactions, never inside one.
	subj, err := a.Accounts.Lookup(ctx, sess.TenantID, sess.AccountID)
	if err != nil {
		return nil, err
	}
	if err := sayStatus(subj); err != nil {
		return nil, err
	}
	next, nextHash := token.NewSecret()
	if given != "" {
		next = given
	}
	var ended string
	err = a.Store.InTx(ctx, func(tx store.Tx) error {
		now := a.Clock.Now()
		if ended = sess.Ended(subj.Policy.Session, now); ended != "" {
			_, err := a.revokeInTx(ctx, tx, sess.TenantID, sess.AccountID, "", ended, nil, now, sess.ID)
			return err
		}
		// Revoked since the token was spent (a lock, a log-out elsewhere)?
		cur, err := tx.GetSession(ctx, sess.TenantID, sess.ID)
		if err != nil {
			return err
		}
		if cur.RevokedAt != nil {
			return invalid
		}
		if err := tx.TouchSession(ctx, sess.TenantID, sess.ID, now); err != nil {
			return err
		}
		sess.LastUsedAt = now
		if given != "" {
			return nil // the successor exists already
		}
		if err := tx.AddRefreshToken(ctx, &credential.RefreshToken{Hash: nextHash, SessionID: sess.ID, TenantID: sess.TenantID,
			AccountID: sess.AccountID, CreatedAt: now, ExpiresAt: now.Add(a.RefreshTTL)}); err != nil {
			return err
		}
		return tx.SetRefreshSuccessor(ctx, hash, token.SealSuccessor(refresh, next))
	})
	switch {
	case err != nil:
		return nil, err
	case ended != "":
		return nil, errs.Unauthenticated(ended, "the session has ended under the tenant's session policy: log in again")
	}
	access, exp, err := a.accessToken(ctx, subj, sess, sess.AuthTime)
	if err != nil {
		return nil, err
	}
	return &Tokens{AccessToken: access, RefreshToken: next, ExpiresIn: exp.Sub(sess.LastUsedAt), SessionID: sess.ID}, nil
}

// A refresh that finds its token spent within the grace but no successor
// yet waits for the twin refresh to commit one: successorWaits polls
// successorPoll apart (about two seconds in all).
const (
	successorPoll  = 50 * time.Millisecond
	successorWaits = 40
)
