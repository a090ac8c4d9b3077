// Package factor is the mfa service's domain: TOTP factors (RFC 6238: 6
// digits, 30 s, SHA-1) and their states, one-time recovery codes and key
// requests. It imports no I/O package.
package factor

import (
	"time"
)

// State is where a factor is in its life.
type State string

// The states of a factor. Only an Active factor counts as the account's
// second factor; the others wait for their first correct code.
const (
	// Enrolling is an enrolment the user started (the app shows the QR
	// code); the first correct code confirms it. A new enrolment replaces
	// it.
	Enrolling State = "ENROLLING"
	// Emailed is a key e-mailed on request (RequestKey, J4); its first
	// correct code, at a log-in or a reset, confirms it.
	Emailed State = "EMAILED"
	// Active is a confirmed factor.
	Active State = "ACTIVE"
)

// MaxConfirmFailures bounds the wrong codes given to confirm one
// enrolment; then the enrolment is gone and must be started again.
const MaxConfirmFailures = 5

// Factor is an account's TOTP factor. An account has at most one.
type Factor struct {
	ID, TenantID, AccountID string
	State                   State
	// KeyID names the key of the ring that sealed Sealed, the TOTP
	// secret (AES-256-GCM; see AD).
	KeyID  string
	Sealed []byte
	// LastStep is the last accepted time step (0: none): a code of this
	// step or an earlier one is refused.
	LastStep int64
	// FailedCodes counts wrong codes given to confirm an unconfirmed
	// factor.
	FailedCodes int
	CreatedAt   time.Time
	ConfirmedAt *time.Time
	LastUsedAt  *time.Time
}

// Confirmed reports whether f is the account's second factor.
func (f *Factor) Confirmed() bool { return f != nil && f.State == Active }

// AD is the associated data a factor's secret is sealed with: it binds
// the sealed secret to its tenant, account and factor, so a sealed value
// copied to another row does not open there.
func AD(tenantID, accountID, factorID string) []byte {
	return []byte("latchkey mfa totp secret\x00" + tenantID + "\x00" + accountID + "\x00" + factorID)
}

// RecoveryCode is a stored one-time recovery code: its public lookup
// part in the clear, the whole code hashed (Argon2id).
type RecoveryCode struct {
	ID, TenantID, AccountID string
	Lookup                  string
	Hash                    string
	CreatedAt               time.Time
	UsedAt                  *time.Time
}

// KeyRequest is a request for the authenticator key by e-mail, queued as
// given (tenant code, login) so that the answer does not depend on
// whether the account exists; a worker resolves it.
type KeyRequest struct {
	ID, TenantCode, Login string
	CreatedAt             time.Time
	// Attempts counts the times a worker took it up.
	Attempts int
}
