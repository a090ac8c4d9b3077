package app

import (
	"context"
	"slices"
	"time"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/ids"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
	"github.com/latchkey/latchkey/services/credential/internal/credential"
	"github.com/latchkey/latchkey/services/credential/internal/events"
	"github.com/latchkey/latchkey/services/credential/internal/store"
	"github.com/latchkey/latchkey/services/credential/internal/token"
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

// Limits of what a log-in accepts, so a request cannot make the service
// hash megabytes.
const (
	maxLoginField  = 254
	maxPasswordLen = 1024
)

func errBadCredentials() error {
	return errs.Unauthenticated("INVALID_CREDENTIALS", "the company code, username or password is wrong")
}

// Login checks a password log-in. Unknown tenant, unknown user and wrong
// password give the same error after the same work (a dummy hash), so a
// caller cannot tell which was wrong; the account's state (disabled,
// locked, not activated) is told only after a correct password.
func (a *App) Login(ctx context.Context, req LoginRequest) (*LoginResult, error) {
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
		v.Add("password", "TOO_LONG", "at most 1024 bytes")
	}
	if len(req.DeviceName) > 200 {
		v.Add("deviceName", "TOO_LONG", "at most 200 characters")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}

	subj, err := a.Accounts.ResolveLogin(ctx, req.Tenant, req.Username)
	if errs.Is(err, errs.KindNotFound) {
		_ = a.Hasher.DummyVerify(ctx, req.Password)
		return nil, errBadCredentials()
	}
	if err != nil {
		return nil, err
	}
	ok, err := a.checkPassword(ctx, subj, req.Password, req.Client)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errBadCredentials()
	}
	if err := sayStatus(subj); err != nil {
		return nil, err
	}
	if err := a.temporaryStillValid(ctx, subj); err != nil {
		return nil, err
	}
	ticket := &credential.LoginTicket{
		TenantID: subj.TenantID, AccountID: subj.AccountID, AMR: []string{"pwd"}, AuthTime: a.Clock.Now(),
		DeviceName: req.DeviceName, IP: req.Client.IP, UserAgent: req.Client.UserAgent,
	}
	return a.advance(ctx, subj, ticket, nil)
}

// sayStatus refuses accounts that may not sign in, now that the caller has
// shown the password.
func sayStatus(s *credential.Subject) error {
	switch s.Status {
	case credential.StatusActive:
		return nil
	case credential.StatusLocked:
		return errs.PermissionDenied("ACCOUNT_LOCKED", "the account is locked; ask an administrator to unlock it")
	case credential.StatusDisabled:
		return errs.PermissionDenied("ACCOUNT_DISABLED", "the account is disabled")
	default:
		return errs.PermissionDenied("ACCOUNT_NOT_ACTIVATED", "the account is not activated yet: follow the link in the activation e-mail")
	}
}

// checkPassword verifies a password against the account's, counting the
// attempt first so parallel guesses cannot exceed the tenant's limit; the
// attempt that reaches the limit locks the account. A correct password
// resets the count and upgrades an outdated hash.
func (a *App) checkPassword(ctx context.Context, subj *credential.Subject, plain string, c Client) (bool, error) {
	var pw *credential.Password
	var count int
	reserved := true
	err := a.Store.InTx(ctx, func(tx store.Tx) error {
		var err error
		if pw, err = tx.GetPassword(ctx, subj.TenantID, subj.AccountID); err != nil {
			return err
		}
		limit := max(subj.Policy.MaxFailedAttempts, 1)
		if count, reserved, err = tx.ReserveAttempt(ctx, subj.TenantID, subj.AccountID, limit); err != nil || reserved {
			return err
		}
		if subj.Status == credential.StatusActive {
			// The count is full but the account is active: its lock
			// expired or an admin lifted it. Counting starts afresh.
			if err := tx.ResetAttempts(ctx, subj.TenantID, subj.AccountID); err != nil {
				return err
			}
			count, reserved, err = tx.ReserveAttempt(ctx, subj.TenantID, subj.AccountID, limit)
		}
		return err
	})
	if errs.Is(err, errs.KindNotFound) { // no password yet (not activated)
		_ = a.Hasher.DummyVerify(ctx, plain)
		return false, nil
	}
	if err != nil {
		return false, err
	}
	ok, rehash, err := a.Hasher.Verify(ctx, pw.Hash, plain)
	if err != nil {
		return false, err
	}
	if ok {
		err := a.Store.InTx(ctx, func(tx store.Tx) error {
			if err := tx.ResetAttempts(ctx, subj.TenantID, subj.AccountID); err != nil {
				return err
			}
			if !rehash {
				return nil
			}
			// The hash is legacy or has old parameters: keep the same
			// password under the current ones.
			h, err := a.Hasher.Hash(ctx, plain)
			if err != nil {
				return err
			}
			pw.Hash = h
			return tx.SavePassword(ctx, pw)
		})
		return true, err
	}
	if !reserved {
		return false, nil // already locked: nothing more to count
	}
	return false, a.failed(ctx, subj, count, "WRONG_PASSWORD", c)
}

// failed records a failure already counted (count is the new count): its
// event, and at the tenant's limit the lock, with every session revoked.
func (a *App) failed(ctx context.Context, subj *credential.Subject, count int, reason string, c Client) error {
	now := a.Clock.Now()
	err := a.Store.InTx(ctx, func(tx store.Tx) error {
		return tx.Emit(ctx, events.LoginFailed(subj.TenantID, subj.AccountID, count, reason, c.IP, c.UserAgent, now))
	})
	if err != nil || count < subj.Policy.MaxFailedAttempts || subj.Status != credential.StatusActive {
		return err
	}
	var until *time.Time
	if m := subj.Policy.LockoutMinutes; m > 0 {
		u := now.Add(time.Duration(m) * time.Minute)
		until = &u
	}
	if err := a.Accounts.RecordLockout(ctx, subj.TenantID, subj.AccountID, until); err != nil {
		return err
	}
	return a.revokeAll(ctx, subj.TenantID, subj.AccountID, "", "ACCOUNT_LOCKED", nil)
}

// advance asks for the next step due, or finishes the log-in.
func (a *App) advance(ctx context.Context, subj *credential.Subject, k *credential.LoginTicket, done []credential.Step) (*LoginResult, error) {
	facts, err := a.facts(ctx, subj)
	if err != nil {
		return nil, err
	}
	doneSet := map[credential.Step]bool{}
	for _, s := range done {
		doneSet[s] = true
	}
	if steps := facts.Steps(doneSet); len(steps) > 0 {
		plain, hash := token.NewSecret()
		k.Hash, k.Step, k.ExpiresAt = hash, steps[0], a.Clock.Now().Add(credential.TicketTTL)
		if err := a.Store.InTx(ctx, func(tx store.Tx) error { return tx.AddTicket(ctx, k, done) }); err != nil {
			return nil, err
		}
		res := &LoginResult{NextStep: steps[0], Ticket: plain, Prompts: facts.Prompts()}
		if steps[0] == credential.StepChangePassword {
			res.Policy = &subj.Policy
		}
		return res, nil
	}
	tokens, err := a.startSession(ctx, subj, k)
	if err != nil {
		return nil, err
	}
	return &LoginResult{Tokens: tokens, Prompts: facts.Prompts()}, nil
}

// facts gathers what decides the steps of subj's log-in.
func (a *App) facts(ctx context.Context, subj *credential.Subject) (credential.Facts, error) {
	f := credential.Facts{
		Now: a.Clock.Now(), MaxAgeDays: subj.Policy.MaxAgeDays, ExpiryWarningDays: subj.Policy.ExpiryWarningDays,
		TermsRequired: subj.Policy.TermsRequired, TermsVersion: subj.Policy.TermsVersion,
		AcceptedTermsVersion: subj.AcceptedTermsVersion, MFARequired: subj.Policy.MFARequired,
		SecurityQuestions: subj.Policy.SecurityQuestions,
	}
	err := a.Store.InTx(ctx, func(tx store.Tx) error {
		var err error
		f.Password, err = tx.GetPassword(ctx, subj.TenantID, subj.AccountID)
		return err
	})
	if err != nil {
		return f, err
	}
	if f.TOTPEnrolled, err = a.Factors.TOTPEnrolled(ctx, subj.TenantID, subj.AccountID); err != nil {
		return f, err
	}
	if f.SecurityQuestions {
		if f.RecoveryInfoSet, err = a.Recovery.InfoSet(ctx, subj.TenantID, subj.AccountID); err != nil {
			return f, err
		}
	}
	return f, nil
}

// ContinueRequest answers the step a ticket asks for.
type ContinueRequest struct {
	Ticket             string
	TOTPCode           string
	RecoveryCode       string
	NewPassword        string
	AcceptTermsVersion string
	Client             Client
}

// ContinueLogin takes the answer to a log-in step. The ticket is used up
// whatever the answer: a wrong answer means starting the log-in again.
func (a *App) ContinueLogin(ctx context.Context, req ContinueRequest) (*LoginResult, error) {
	if req.Ticket == "" {
		return nil, errs.Invalid(errs.Field("loginTicket", "REQUIRED", "required"))
	}
	var k *credential.LoginTicket
	var done []credential.Step
	err := a.Store.InTx(ctx, func(tx store.Tx) error {
		var err error
		k, done, err = tx.UseTicket(ctx, token.HashSecret(req.Ticket), a.Clock.Now())
		return err
	})
	if errs.Is(err, errs.KindNotFound) {
		return nil, errs.Unauthenticated("LOGIN_TICKET_INVALID", "the log-in ticket is unknown, used or expired: log in again")
	}
	if err != nil {
		return nil, err
	}
	subj, err := a.Accounts.Lookup(ctx, k.TenantID, k.AccountID)
	if err != nil {
		return nil, err
	}
	if err := sayStatus(subj); err != nil {
		return nil, err
	}
	switch k.Step {
	case credential.StepAcceptTerms:
		if req.AcceptTermsVersion == "" {
			return nil, errs.Invalid(errs.Field("acceptTermsVersion", "REQUIRED", "this step accepts the terms: give their version"))
		}
		if err := a.Accounts.RecordTermsAcceptance(ctx, subj.TenantID, subj.AccountID, req.AcceptTermsVersion); err != nil {
			return nil, err
		}
		subj.AcceptedTermsVersion = req.AcceptTermsVersion
	case credential.StepChangePassword:
		if req.NewPassword == "" {
			return nil, errs.Invalid(errs.Field("newPassword", "REQUIRED", "this step sets a new password"))
		}
		if err := a.replacePassword(ctx, subj, req.NewPassword, "newPassword", false, eventsv1.PasswordChanged_Cause_LOGIN_STEP, ""); err != nil {
			return nil, err
		}
	case credential.StepMFA:
		code, recovery := req.TOTPCode, false
		if code == "" {
			code, recovery = req.RecoveryCode, true
		}
		if code == "" {
			return nil, errs.Invalid(errs.Field("totpCode", "REQUIRED", "this step needs the current code of the authenticator app, or a recovery code"))
		}
		ok, err := a.Factors.Verify(ctx, subj.TenantID, subj.AccountID, code, recovery)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errs.Unauthenticated("MFA_CODE_INVALID", "the code is wrong or was already used: log in again")
		}
		k.AMR = append(k.AMR, "otp")
	default:
		return nil, errs.Unimplemented("the " + string(k.Step) + " log-in step needs the mfa service, which is not built yet")
	}
	done = append(slices.Clone(done), k.Step)
	return a.advance(ctx, subj, k, done)
}

// startSession makes the session of a finished log-in and its tokens.
func (a *App) startSession(ctx context.Context, subj *credential.Subject, k *credential.LoginTicket) (*Tokens, error) {
	now := a.Clock.Now()
	s := &credential.Session{
		ID: ids.New(), TenantID: subj.TenantID, AccountID: subj.AccountID, DeviceName: k.DeviceName,
		IP: k.IP, UserAgent: k.UserAgent, AMR: k.AMR, AuthTime: k.AuthTime, CreatedAt: now, LastUsedAt: now,
	}
	refresh, rhash := token.NewSecret()
	var deviceKey string
	err := a.Store.InTx(ctx, func(tx store.Tx) error {
		if err := tx.CreateSession(ctx, s); err != nil {
			return err
		}
		if k.DeviceName != "" && subj.Policy.PINEnabled && slices.Contains(k.AMR, "pwd") {
			var err error
			if deviceKey, err = a.newDevice(ctx, tx, subj, k.DeviceName); err != nil {
				return err
			}
		}
		if err := tx.AddRefreshToken(ctx, &credential.RefreshToken{Hash: rhash, SessionID: s.ID, TenantID: s.TenantID,
			AccountID: s.AccountID, CreatedAt: now, ExpiresAt: now.Add(a.RefreshTTL)}); err != nil {
			return err
		}
		return tx.Emit(ctx, events.LoginSucceeded(s, now))
	})
	if err != nil {
		return nil, err
	}
	access, exp, err := a.accessToken(ctx, subj, s, s.AuthTime)
	if err != nil {
		return nil, err
	}
	return &Tokens{AccessToken: access, RefreshToken: refresh, ExpiresIn: exp.Sub(now), SessionID: s.ID, DeviceKey: deviceKey}, nil
}

func (a *App) accessToken(ctx context.Context, subj *credential.Subject, s *credential.Session, authTime time.Time) (string, time.Time, error) {
	return a.Issuer.Issue(ctx, token.Claims{
		AccountID: subj.AccountID, TenantID: subj.TenantID, Roles: subj.Roles, SessionID: s.ID,
		AMR: s.AMR, AuthTime: authTime,
	})
}

// temporaryStillValid refuses a temporary password older than the
// tenant's limit: it was handed over (by e-mail, by phone) and should not
// work forever; an admin sets a new one.
func (a *App) temporaryStillValid(ctx context.Context, subj *credential.Subject) error {
	days := subj.Policy.TemporaryDays
	if days <= 0 {
		return nil
	}
	var pw *credential.Password
	err := a.Store.InTx(ctx, func(tx store.Tx) error {
		var err error
		pw, err = tx.GetPassword(ctx, subj.TenantID, subj.AccountID)
		return err
	})
	if err != nil {
		return err
	}
	if pw.Temporary && !a.Clock.Now().Before(pw.ChangedAt.Add(time.Duration(days)*24*time.Hour)) {
		return errs.PermissionDenied("TEMPORARY_PASSWORD_EXPIRED", "the temporary password has expired: ask an administrator for a new one")
	}
	return nil
}
