package app

import (
	"context"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/services/credential/internal/credential"
	"github.com/latchkey/latchkey/services/credential/internal/store"
)

// LoginRequest is a log-in with company code, username and password.
type LoginRequest struct {
	Tenant     string
	Username   string
	Password   string
	DeviceName string
	Client     Client
}

// LoginResult is either tokens or the next step with its ticket.
type LoginResult struct {
	Tokens   *Tokens
	NextStep credential.Step
	Ticket   string
	Prompts  []credential.Prompt
	// Policy is set with NextStep CHANGE_PASSWORD, so that the answer can
	// show the rules the new password must meet.
	Policy *credential.Policy
	// Enrollment is set with NextStep ENROLL_MFA after startTotpEnrollment:
	// what the authenticator app needs.
	Enrollment *credential.TOTPEnrollment
	// RecoveryCodes are set once, with the tokens, when the log-in
	// confirmed a TOTP enrolment (shown once).
	RecoveryCodes []string
}

// Tokens are what a finished log-in or a refresh gives.
type Tokens struct {
	AccessToken  string
	RefreshToken string
	ExpiresIn    time.Duration
	SessionID    string
	// DeviceKey lets this device unlock with the PIN later; given when a
	// password log-in named its device in a tenant that uses PINs.
	DeviceKey string
}

// maxLoginField caps the tenant code and username a log-in names.
const maxLoginField = 254

func errBadCredentials() error {
	return errs.Unauthenticated("INVALID_CREDENTIALS", "the company code, username or password is wrong")
}

// Login checks a password log-in. Unknown tenant, unknown user, wrong
// password, and any password of a locked or disabled account (which is not
// checked) give the same error after the same work (a dummy hash), so a
// caller can tell none of them apart; that an account is not activated
// yet is told only after a correct password. A busy hash pool is the same
// Unavailable answer for known and unknown accounts.
//
// The password row is read once, in the transaction that counts the
// attempt, and passed along: a log-in runs two transactions (count the
// attempt; clear the count with the ticket or the session).
//
// A log-in whose commit the database's loss left unknown (it went down
// while a COMMIT was on its way) answers Unavailable, to be tried again,
// not an internal error: what it may have made is harmless twice (a
// session nobody holds the token of expires; an attempt counted twice
// locks one guess sooner). The PostgreSQL-restart fault test saw a 500.
func (a *App) Login(ctx context.Context, req LoginRequest) (res *LoginResult, err error) {
	ctx, counted := a.Metrics.startLogin(ctx, loginByPassword)
	defer func() {
		err = dbx.Repeatable(err)
		counted(res, err)
	}()
	var v errs.Violations
	for _, f := range []struct{ name, value string }{{"tenant", req.Tenant}, {"username", req.Username}} {
		switch {
		case f.value == "":
			v.Add(f.name, "REQUIRED", "required")
		case len(f.value) > maxLoginField:
			v.Add(f.name, "TOO_LONG", "at most 254 characters")
		}
	}
	switch {
	case req.Password == "":
		v.Add("password", "REQUIRED", "required")
	case len(req.Password) > maxPasswordLen:
		v.Add("password", "TOO_LONG", fmt.Sprintf("at most %d bytes", maxPasswordLen))
	}
	if len(req.DeviceName) > 200 {
		v.Add("deviceName", "TOO_LONG", "at most 200 characters")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	// A flood is refused before it costs a lookup and a transaction.
	leave, err := a.Hasher.Enter()
	if err != nil {
		return nil, err
	}
	defer leave()

	subj, err := a.Accounts.ResolveLogin(ctx, req.Tenant, req.Username)
	if errs.Is(err, errs.KindNotFound) {
		if err := a.Hasher.DummyVerify(ctx, req.Password); err != nil {
			return nil, err
		}
		return nil, errBadCredentials()
	}
	if err != nil {
		return nil, err
	}
	pw, ok, accept, err := a.verifyPassword(ctx, subj, "password", req.Password, req.Client)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errBadCredentials()
	}
	// The right password clears the count in the transaction that
	// concludes the step; a log-in that stops before it, or whose
	// transaction failed, clears it alone.
	stop := func(err error) (*LoginResult, error) {
		if aerr := a.Store.InTx(ctx, accept); aerr != nil {
			return nil, aerr
		}
		return nil, err
	}
	if err := sayStatus(subj); err != nil {
		return stop(err)
	}
	if err := a.temporaryStillValid(subj, pw); err != nil {
		return stop(err)
	}
	facts, err := a.facts(ctx, subj, pw)
	if err != nil {
		return stop(err)
	}
	k := &credential.LoginTicket{
		TenantID: subj.TenantID, AccountID: subj.AccountID, AMR: []string{"pwd"}, AuthTime: a.Clock.Now(),
		DeviceName: req.DeviceName, IP: req.Client.IP, UserAgent: req.Client.UserAgent,
	}
	var next *nextOrSession
	err = a.Store.InTx(ctx, func(tx store.Tx) error {
		if err := accept(tx); err != nil {
			return err
		}
		var err error
		next, err = a.conclude(ctx, tx, a.Clock.Now(), subj, k, nil, facts)
		return err
	})
	if err != nil {
		_ = a.Store.InTx(ctx, accept) // its own failure says no more than err
		return nil, err
	}
	return a.result(ctx, subj, next, facts)
}

// temporaryStillValid refuses a temporary password older than the
// tenant's limit: it was handed over (by e-mail, by phone) and should not
// work forever; an admin sets a new one.
func (a *App) temporaryStillValid(subj *credential.Subject, pw *credential.Password) error {
	days := subj.Policy.TemporaryDays
	if days <= 0 || !pw.Temporary {
		return nil
	}
	if !a.Clock.Now().Before(pw.ChangedAt.Add(time.Duration(days) * 24 * time.Hour)) {
		return errs.PermissionDenied("TEMPORARY_PASSWORD_EXPIRED", "the temporary password has expired: ask an administrator for a new one")
	}
	return nil
}
