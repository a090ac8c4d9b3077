package app

import (
	"context"

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
//
// The account and its tenant's policy come from the account service,
// asked before the transaction (never inside one) about the token's owner,
// read first. Then one transaction spends the token and makes its
// successor, so a twin refresh finds either a live token or a spent one
// with its successor, never one in between; and one commit (on
// PostgreSQL, one WAL flush) per refresh, where two transactions made two.
// A refresh that cannot go on (the account service did not answer, the
// account may not sign in, the session is revoked) changes nothing: the
// token stays live, so a moment's outage does not cost the session.
func (a *App) Refresh(ctx context.Context, refresh string, c Client) (*Tokens, error) {
	if refresh == "" {
		return nil, errs.Invalid(errs.Field("refreshToken", "REQUIRED", "required"))
	}
	invalid := errs.Unauthenticated("REFRESH_TOKEN_INVALID", "the refresh token is unknown, spent or expired: log in again")
	hash := token.HashSecret(refresh)
	tenantID, accountID, err := a.Store.RefreshTokenOwner(ctx, hash)
	if errs.Is(err, errs.KindNotFound) {
		return nil, invalid
	}
	if err != nil {
		return nil, err
	}
	// A failed look-up is kept for the transaction: a reuse is still
	// found and ends the session while the account service is away.
	subj, lookupErr := a.Accounts.Lookup(ctx, tenantID, accountID)
	fresh, freshHash := token.NewSecret()
	var (
		sess   *credential.Session
		reused bool
		ended  string
		issued string // the refresh token answered: fresh, or the successor a twin made
	)
	err = a.Store.InTx(ctx, func(tx store.Tx) error {
		reused, ended, issued = false, "", fresh // InTx may run fn again
		now := a.Clock.Now()
		used, isReuse, err := tx.UseRefreshToken(ctx, hash, now)
		if err != nil {
			return err
		}
		if isReuse && used.UsedAt != nil && now.Sub(*used.UsedAt) <= credential.RefreshReuseGrace {
			if used.Successor == nil {
				// Spent without a successor: by a log-out, or by a
				// refresh that found the session over. Either ended it.
				return invalid
			}
			if issued, err = token.OpenSuccessor(refresh, used.Successor); err != nil {
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
		// A revoked session is told first: disabling or locking an
		// account revokes its sessions, and their tokens are then just
		// invalid, as they were before the account changed.
		if sess, err = tx.GetSession(ctx, used.TenantID, used.SessionID); err != nil {
			return err
		}
		if sess.RevokedAt != nil {
			return invalid
		}
		if lookupErr != nil {
			return lookupErr
		}
		if err := sayStatus(subj); err != nil {
			return err
		}
		if ended = sess.Ended(subj.Policy.Session, now); ended != "" {
			_, err := a.revokeInTx(ctx, tx, sess.TenantID, sess.AccountID, "", ended, nil, now, sess.ID)
			return err
		}
		if err := tx.TouchSession(ctx, sess.TenantID, sess.ID, now); err != nil {
			return err
		}
		sess.LastUsedAt = now
		if issued != fresh {
			return nil // the successor exists already
		}
		if err := tx.AddRefreshToken(ctx, &credential.RefreshToken{Hash: freshHash, SessionID: sess.ID, TenantID: sess.TenantID,
			AccountID: sess.AccountID, CreatedAt: now, ExpiresAt: now.Add(a.RefreshTTL)}); err != nil {
			return err
		}
		return tx.SetRefreshSuccessor(ctx, hash, token.SealSuccessor(refresh, fresh))
	})
	switch {
	case errs.Is(err, errs.KindNotFound):
		return nil, invalid
	case err != nil:
		return nil, err
	case reused:
		return nil, invalid
	case ended != "":
		return nil, errs.Unauthenticated(ended, "the session has ended under the tenant's session policy: log in again")
	}
	access, exp, err := a.accessToken(ctx, subj, sess, sess.AuthTime)
	if err != nil {
		return nil, err
	}
	return &Tokens{AccessToken: access, RefreshToken: issued, ExpiresIn: exp.Sub(sess.LastUsedAt), SessionID: sess.ID}, nil
}
