package app

import (
	"context"
	"slices"
	"time"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/services/credential/internal/credential"
	"github.com/latchkey/latchkey/services/credential/internal/events"
	"github.com/latchkey/latchkey/services/credential/internal/store"
	"github.com/latchkey/latchkey/services/credential/internal/token"
)

// This file holds what every log-in shares (password, step answer, PIN):
// which state may sign in, which steps are due, and how a log-in ends,
// with a ticket for the next step or with a session.

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

// facts gathers what decides the steps of subj's log-in: its policy, its
// password pw (read once by the caller) and what the mfa and recovery
// services say. It asks the peers, so it runs outside any transaction.
func (a *App) facts(ctx context.Context, subj *credential.Subject, pw *credential.Password) (credential.Facts, error) {
	f := credential.Facts{
		Now: a.Clock.Now(), Password: pw, MaxAgeDays: subj.Policy.MaxAgeDays, ExpiryWarningDays: subj.Policy.ExpiryWarningDays,
		TermsRequired: subj.Policy.TermsRequired, TermsVersion: subj.Policy.TermsVersion,
		AcceptedTermsVersion: subj.AcceptedTermsVersion, MFARequired: subj.Policy.MFARequired,
		SecurityQuestions: subj.Policy.SecurityQuestions,
	}
	fs, err := a.Factors.Status(ctx, subj.TenantID, subj.AccountID)
	if err != nil {
		return f, err
	}
	f.TOTPEnrolled, f.MFAKeyPending = fs.TOTPEnabled, fs.EmailedKeyPending
	if f.SecurityQuestions {
		if f.RecoveryInfoSet, err = a.Recovery.InfoSet(ctx, subj.TenantID, subj.AccountID); err != nil {
			return f, err
		}
	}
	return f, nil
}

// nextOrSession is how a log-in step ended: the next step with its ticket,
// or the session with its refresh token (and a device key).
type nextOrSession struct {
	step      credential.Step
	ticket    string
	session   *credential.Session
	refresh   string
	deviceKey string
}

// conclude writes, in tx at now, the end of an accepted log-in step: a
// ticket for the next step due after done, or the session.
func (a *App) conclude(ctx context.Context, tx store.Tx, now time.Time, subj *credential.Subject, k *credential.LoginTicket,
	done []credential.Step, f credential.Facts) (*nextOrSession, error) {
	doneSet := map[credential.Step]bool{}
	for _, s := range done {
		doneSet[s] = true
	}
	if steps := f.Steps(doneSet); len(steps) > 0 {
		plain, hash := token.NewSecret()
		next := *k
		next.Hash, next.Step, next.ExpiresAt = hash, steps[0], now.Add(credential.TicketTTL)
		if err := tx.AddTicket(ctx, &next, done); err != nil {
			return nil, err
		}
		return &nextOrSession{step: steps[0], ticket: plain}, nil
	}
	return a.startSession(ctx, tx, subj, k, "", now)
}

// startSession makes, in tx, the session of a finished log-in with its
// refresh token and its LoginSucceeded event. deviceID is the device a PIN
// log-in unlocked ("" for a password log-in, which hands out a new device
// key when it names its device in a tenant that uses PINs); the session
// remembers it, so that ending the session ends the key.
//
// The event's new_device is true when the account has signed in before
// and never from this device: no earlier session (live or revoked) has
// the same device name and user agent. An account's first log-in is not
// "new" (there is no known device to differ from, and its owner is the
// one who just got the account), and a PIN log-in never is (the device
// key proves an earlier password log-in from the device).
func (a *App) startSession(ctx context.Context, tx store.Tx, subj *credential.Subject, k *credential.LoginTicket, deviceID string,
	now time.Time) (*nextOrSession, error) {
	s := &credential.Session{
		ID: ids.New(), TenantID: subj.TenantID, AccountID: subj.AccountID, DeviceName: k.DeviceName,
		IP: k.IP, UserAgent: k.UserAgent, AMR: k.AMR, AuthTime: k.AuthTime, CreatedAt: now, LastUsedAt: now, DeviceID: deviceID,
	}
	newDevice := false
	if !slices.Contains(k.AMR, "pin") {
		before, seen, err := tx.DeviceSeen(ctx, s.TenantID, s.AccountID, s.DeviceName, s.UserAgent)
		if err != nil {
			return nil, err
		}
		newDevice = before && !seen
	}
	out := &nextOrSession{session: s}
	if k.DeviceName != "" && subj.Policy.PINEnabled && slices.Contains(k.AMR, "pwd") {
		var hash [32]byte
		out.deviceKey, hash = token.NewSecret()
		s.DeviceID = ids.New()
		if err := tx.AddDevice(ctx, &credential.Device{ID: s.DeviceID, TenantID: subj.TenantID, AccountID: subj.AccountID,
			KeyHash: hash, Name: k.DeviceName, CreatedAt: now, LastUsedAt: now}); err != nil {
			return nil, err
		}
	}
	if err := tx.CreateSession(ctx, s); err != nil {
		return nil, err
	}
	var rhash [32]byte
	out.refresh, rhash = token.NewSecret()
	if err := tx.AddRefreshToken(ctx, &credential.RefreshToken{Hash: rhash, SessionID: s.ID, TenantID: s.TenantID,
		AccountID: s.AccountID, CreatedAt: now, ExpiresAt: now.Add(a.RefreshTTL)}); err != nil {
		return nil, err
	}
	return out, tx.Emit(ctx, events.LoginSucceeded(s, newDevice, now))
}

// result is the caller's answer for what conclude wrote, signing the
// access token once the session is committed.
func (a *App) result(ctx context.Context, subj *credential.Subject, n *nextOrSession, f credential.Facts) (*LoginResult, error) {
	if n.session == nil {
		res := &LoginResult{NextStep: n.step, Ticket: n.ticket, Prompts: f.Prompts()}
		if n.step == credential.StepChangePassword {
			res.Policy = &subj.Policy
		}
		return res, nil
	}
	access, exp, err := a.accessToken(ctx, subj, n.session, n.session.AuthTime)
	if err != nil {
		return nil, err
	}
	return &LoginResult{Prompts: f.Prompts(), Tokens: &Tokens{AccessToken: access, RefreshToken: n.refresh,
		ExpiresIn: exp.Sub(n.session.CreatedAt), SessionID: n.session.ID, DeviceKey: n.deviceKey}}, nil
}

func (a *App) accessToken(ctx context.Context, subj *credential.Subject, s *credential.Session, authTime time.Time) (string, time.Time, error) {
	return a.Issuer.Issue(ctx, token.Claims{
		AccountID: subj.AccountID, TenantID: subj.TenantID, Roles: subj.Roles, SessionID: s.ID,
		AMR: s.AMR, AuthTime: authTime,
		// The session's lifetime is absolute: no token outlives it.
		NotAfter: s.CreatedAt.Add(subj.Policy.Session.WithDefaults().MaxLifetime),
	})
}
