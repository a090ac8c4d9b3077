package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/events"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
	"github.com/latchkey/latchkey/services/credential/internal/credential"
	credevents "github.com/latchkey/latchkey/services/credential/internal/events"
	"github.com/latchkey/latchkey/services/credential/internal/store"
	"github.com/latchkey/latchkey/services/credential/internal/token"
)

// Refresh trades a refresh token for new tokens; the old refresh token is
// spent. Presenting a spent one means a copy exists: the whole session is
// revoked and the event says so.
func (a *App) Refresh(ctx context.Context, refresh string, c Client) (*Tokens, error) {
	if refresh == "" {
		return nil, errs.Invalid(errs.Field("refreshToken", "REQUIRED", "required"))
	}
	now := a.Clock.Now()
	invalid := errs.Unauthenticated("REFRESH_TOKEN_INVALID", "the refresh token is unknown, spent or expired: log in again")
	var used *credential.RefreshToken
	var sess *credential.Session
	var reused bool
	next, nextHash := token.NewSecret()
	err := a.Store.InTx(ctx, func(tx store.Tx) error {
		var err error
		used, reused, err = tx.UseRefreshToken(ctx, token.HashSecret(refresh), now)
		if err != nil || reused {
			return err
		}
		if sess, err = tx.GetSession(ctx, used.TenantID, used.SessionID); err != nil {
			return err
		}
		if sess.RevokedAt != nil {
			return invalid
		}
		if err := tx.TouchSession(ctx, sess.TenantID, sess.ID, now); err != nil {
			return err
		}
		return tx.AddRefreshToken(ctx, &credential.RefreshToken{Hash: nextHash, SessionID: sess.ID, TenantID: sess.TenantID,
			AccountID: sess.AccountID, CreatedAt: now, ExpiresAt: now.Add(a.RefreshTTL)})
	})
	switch {
	case errs.Is(err, errs.KindNotFound):
		return nil, invalid
	case err != nil:
		return nil, err
	case reused:
		err := a.Store.InTx(ctx, func(tx store.Tx) error {
			return tx.Emit(ctx, credevents.RefreshTokenReused(used, c.IP, c.UserAgent, now))
		})
		if err == nil {
			err = a.revokeAll(ctx, used.TenantID, used.AccountID, "", "REFRESH_TOKEN_REUSED", nil, used.SessionID)
		}
		if err != nil {
			return nil, err
		}
		return nil, invalid
	}
	subj, err := a.Accounts.Lookup(ctx, sess.TenantID, sess.AccountID)
	if err != nil {
		return nil, err
	}
	if err := sayStatus(subj); err != nil {
		return nil, err
	}
	access, exp, err := a.accessToken(ctx, subj, sess, sess.AuthTime)
	if err != nil {
		return nil, err
	}
	return &Tokens{AccessToken: access, RefreshToken: next, ExpiresIn: exp.Sub(now), SessionID: sess.ID}, nil
}

// Logout ends the session of a refresh token. An unknown or spent token is
// not an error: the session is gone either way.
func (a *App) Logout(ctx context.Context, refresh string) error {
	if refresh == "" {
		return errs.Invalid(errs.Field("refreshToken", "REQUIRED", "required"))
	}
	var used *credential.RefreshToken
	err := a.Store.InTx(ctx, func(tx store.Tx) error {
		var err error
		used, _, err = tx.UseRefreshToken(ctx, token.HashSecret(refresh), a.Clock.Now())
		return err
	})
	if errs.Is(err, errs.KindNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return a.revokeAll(ctx, used.TenantID, used.AccountID, "", "LOGOUT", nil, used.SessionID)
}

// ListSessions returns the caller's live sessions.
func (a *App) ListSessions(ctx context.Context, p *authn.Principal) ([]*credential.Session, error) {
	if _, err := a.signedIn(ctx, p); err != nil {
		return nil, err
	}
	var out []*credential.Session
	err := a.Store.InTx(ctx, func(tx store.Tx) error {
		var err error
		out, err = tx.ListSessions(ctx, p.TenantID, p.AccountID)
		return err
	})
	return out, err
}

// RevokeSession ends one of the caller's sessions (a session of someone
// else is NotFound).
func (a *App) RevokeSession(ctx context.Context, p *authn.Principal, id string) error {
	if _, err := a.signedIn(ctx, p); err != nil {
		return err
	}
	if err := checkID("id", id); err != nil {
		return err
	}
	var revoked []string
	err := a.Store.InTx(ctx, func(tx store.Tx) error {
		var err error
		revoked, err = a.revokeInTx(ctx, tx, p.TenantID, p.AccountID, "", "USER_REVOKED", events.ActorOf(p, ""), id)
		return err
	})
	if err == nil && len(revoked) == 0 {
		return errs.NotFound("SESSION_NOT_FOUND", "session not found")
	}
	return err
}

// RevokeAllSessions ends every session of an account, for another service
// (an admin locked or disabled it).
func (a *App) RevokeAllSessions(ctx context.Context, tenantID, accountID, reason string) (int, error) {
	if err := errs.JoinInvalid(checkID("tenantId", tenantID), checkID("accountId", accountID)); err != nil {
		return 0, err
	}
	var n int
	err := a.Store.InTx(ctx, func(tx store.Tx) error {
		revoked, err := a.revokeInTx(ctx, tx, tenantID, accountID, "", reason, nil)
		n = len(revoked)
		return err
	})
	return n, err
}

// revokeAll revokes the account's sessions (only the ones named, when
// any; all but keep otherwise), each with its SessionRevoked event.
func (a *App) revokeAll(ctx context.Context, tenantID, accountID, keep, reason string, actor *eventsv1.Actor, only ...string) error {
	return a.Store.InTx(ctx, func(tx store.Tx) error {
		_, err := a.revokeInTx(ctx, tx, tenantID, accountID, keep, reason, actor, only...)
		return err
	})
}

func (a *App) revokeInTx(ctx context.Context, tx store.Tx, tenantID, accountID, keep, reason string, actor *eventsv1.Actor, only ...string) ([]string, error) {
	now := a.Clock.Now()
	revoked, err := tx.RevokeSessions(ctx, tenantID, accountID, only, keep, now)
	if err != nil {
		return nil, err
	}
	if actor == nil {
		actor = events.ActorOf(nil, reason)
	}
	// Access tokens of these sessions stay valid until they expire unless
	// every service refuses them: the event feeds their denylists.
	until := now.Add(a.Issuer.AccessTTL())
	for _, id := range revoked {
		if err := tx.Emit(ctx, credevents.SessionRevoked(tenantID, accountID, id, reason, until, actor, now)); err != nil {
			return nil, err
		}
	}
	return revoked, nil
}

// Reauthenticate gives a signed-in user a fresh access token, whose
// auth_time is now, after they give their password again (and their code
// where TOTP is on): the step-up that security settings ask for.
func (a *App) Reauthenticate(ctx context.Context, p *authn.Principal, plain, totpCode string, c Client) (string, int, error) {
	subj, err := a.signedIn(ctx, p)
	if err != nil {
		return "", 0, err
	}
	if plain == "" {
		return "", 0, errs.Invalid(errs.Field("password", "REQUIRED", "required"))
	}
	ok, err := a.checkPassword(ctx, subj, plain, c)
	if err != nil {
		return "", 0, err
	}
	if !ok {
		return "", 0, errs.Unauthenticated("INVALID_CREDENTIALS", "the password is wrong")
	}
	amr := []string{"pwd"}
	enrolled, err := a.Factors.TOTPEnrolled(ctx, subj.TenantID, subj.AccountID)
	if err != nil {
		return "", 0, err
	}
	if enrolled {
		if totpCode == "" {
			return "", 0, errs.Invalid(errs.Field("totpCode", "REQUIRED", "two-step verification is on: give the current code"))
		}
		if ok, err := a.Factors.Verify(ctx, subj.TenantID, subj.AccountID, totpCode, false); err != nil || !ok {
			if err == nil {
				err = errs.Unauthenticated("MFA_CODE_INVALID", "the code is wrong or was already used")
			}
			return "", 0, err
		}
		amr = append(amr, "otp")
	}
	var sess *credential.Session
	err = a.Store.InTx(ctx, func(tx store.Tx) error {
		var err error
		sess, err = tx.GetSession(ctx, p.TenantID, p.SessionID)
		return err
	})
	if err != nil {
		return "", 0, err
	}
	if sess.RevokedAt != nil {
		return "", 0, errs.Unauthenticated("SESSION_REVOKED", "the session was revoked: log in again")
	}
	now := a.Clock.Now()
	sess.AMR = amr
	access, exp, err := a.accessToken(ctx, subj, sess, now)
	if err != nil {
		return "", 0, err
	}
	return access, int(exp.Sub(now).Seconds()), nil
}
