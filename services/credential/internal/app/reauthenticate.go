package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/errs"
)

// Reauthenticate gives a signed-in user a fresh access token, whose
// auth_time is now, after they give their password again (and their code
// where TOTP is on): the step-up that security settings ask for. A locked
// or disabled account's password is not checked: the answer is the wrong
// password's.
func (a *App) Reauthenticate(ctx context.Context, p *authn.Principal, plain, totpCode string, c Client) (string, int, error) {
	subj, err := a.signedIn(ctx, p)
	if err != nil {
		return "", 0, err
	}
	if plain == "" {
		return "", 0, errs.Invalid(errs.Field("password", "REQUIRED", "required"))
	}
	_, ok, err := a.checkPassword(ctx, subj, "password", plain, c)
	if err != nil {
		return "", 0, err
	}
	if !ok {
		return "", 0, errs.Unauthenticated("INVALID_CREDENTIALS", "the password is wrong")
	}
	amr := []string{"pwd"}
	// Fails closed: an mfa service that cannot say whether TOTP is on
	// is an error, not a re-authentication without the code.
	fs, err := a.Factors.Status(ctx, subj.TenantID, subj.AccountID)
	if err != nil {
		return "", 0, err
	}
	if fs.TOTPEnabled {
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
	sess, err := a.Store.GetSession(ctx, p.TenantID, p.SessionID)
	if err != nil {
		return "", 0, err
	}
	if sess.RevokedAt != nil {
		return "", 0, errs.Unauthenticated("SESSION_REVOKED", "the session was revoked: log in again")
	}
	now := a.Clock.Now()
	// The password again does not stretch a session past its tenant's
	// session policy: only a log-in starts a new one.
	if ended := sess.Ended(subj.Policy.Session, now); ended != "" {
		return "", 0, errs.Unauthenticated(ended, "the session has ended under the tenant's session policy: log in again")
	}
	sess.AMR = amr
	access, exp, err := a.accessToken(ctx, subj, sess, now)
	if err != nil {
		return "", 0, err
	}
	return access, int(exp.Sub(now).Seconds()), nil
}
