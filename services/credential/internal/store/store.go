// Package store is what the credential service's use cases need from
// storage. sqlstore implements it on PostgreSQL and SQLite; storetest is the
// conformance suite both run.
package store

import (
	"context"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/latchkey/latchkey/services/credential/internal/credential"
	"github.com/latchkey/latchkey/services/credential/internal/token"
)

// Store reads outside transactions and opens transactions for changes.
type Store interface {
	Reader
	// InTx runs fn in a transaction. fn must not make network calls nor
	// hash: a transaction holds locks (and on SQLite, the only writer).
	InTx(ctx context.Context, fn func(tx Tx) error) error
	// Keys is the signing-key store of the token issuer.
	Keys() token.KeyStore
	// TryExclusive takes the named lock shared by every replica over the
	// database, or answers ok false at once while another holder has it
	// (dbx.Exclusive); release gives it back.
	TryExclusive(ctx context.Context, name string) (release func(), ok bool, err error)
	// Prune deletes what can no longer be used: refresh tokens and log-in
	// tickets that expired before expiredBefore; sessions revoked before
	// endedBefore, or with no refresh token left and unused since, with
	// the tokens they still have; device keys revoked before endedBefore
	// (a revoked key answers as an unknown one). It works in transactions
	// of at most batch rows, so it never holds the database (SQLite's only
	// writer) for long, and returns what it deleted.
	Prune(ctx context.Context, expiredBefore, endedBefore time.Time, batch int) (Pruned, error)
	// PasswordTenants returns, in id order, up to limit ids of tenants
	// that have passwords, after the id after ("" from the start).
	PasswordTenants(ctx context.Context, after string, limit int) ([]string, error)
}

// Reader is every query of the service. Every query on tenant data takes
// the tenant id, so no call can reach another tenant's rows.
type Reader interface {
	// GetPassword returns the account's password, or errs NotFound.
	GetPassword(ctx context.Context, tenantID, accountID string) (*credential.Password, error)
	// History returns the newest n past password hashes, newest first.
	History(ctx context.Context, tenantID, accountID string, n int) ([]string, error)
	// FailedCount is the account's count of consecutive failures.
	FailedCount(ctx context.Context, tenantID, accountID string) (int, error)
	// GetPIN returns the account's PIN hash, or errs NotFound.
	GetPIN(ctx context.Context, tenantID, accountID string) (hash string, err error)
	// DeviceByKey returns the live device whose key hashes to keyHash, or
	// errs NotFound.
	DeviceByKey(ctx context.Context, keyHash [32]byte) (*credential.Device, error)
	// GetSession returns a session of the tenant, or errs NotFound.
	GetSession(ctx context.Context, tenantID, id string) (*credential.Session, error)
	// ListSessions returns the account's live sessions, newest first.
	ListSessions(ctx context.Context, tenantID, accountID string) ([]*credential.Session, error)
	// DeviceSeen tells whether the account has had any session before
	// (live or revoked), and whether one of them came from the device
	// named deviceName with the user agent userAgent.
	DeviceSeen(ctx context.Context, tenantID, accountID, deviceName, userAgent string) (anySession, seen bool, err error)
	// RefreshTokenOwner returns the tenant and account of a refresh
	// token, live, spent or expired, or errs NotFound when there is no
	// such token: a refresh asks the account service about its account
	// before the one transaction that spends it.
	RefreshTokenOwner(ctx context.Context, hash [32]byte) (tenantID, accountID string, err error)
	// PeekTicket returns a live ticket (unused, not expired at now) with
	// the steps already done, without using it; otherwise errs NotFound.
	PeekTicket(ctx context.Context, hash [32]byte, now time.Time) (*credential.LoginTicket, []credential.Step, error)
}

// Tx is a transaction: its reads see its own writes.
type Tx interface {
	Reader
	// SavePassword creates or replaces the account's password.
	SavePassword(ctx context.Context, p *credential.Password) error
	// AddHistory remembers a past password hash and keeps the newest keep
	// of them.
	AddHistory(ctx context.Context, tenantID, accountID, hash string, at time.Time, keep int) error

	// ReserveAttempt counts a log-in attempt before its password is
	// checked, atomically: it returns the count including this attempt, or
	// ok=false when max attempts are already counted (the account is
	// locked by failures), so parallel guesses cannot exceed max. The
	// attempt that reaches max starts the lock: it lasts lockFor (0: until
	// ResetAttempts), and a full count whose lock has ended at now starts
	// afresh.
	ReserveAttempt(ctx context.Context, tenantID, accountID string, max int, now time.Time, lockFor time.Duration) (count int, ok bool, err error)
	// ResetAttempts forgets the failures (a success, an unlock, a new
	// password).
	ResetAttempts(ctx context.Context, tenantID, accountID string) error
	// ReleaseAttempt gives back an attempt ReserveAttempt counted whose
	// password was never checked (the hash pool was busy), so that load
	// does not count as failures.
	ReleaseAttempt(ctx context.Context, tenantID, accountID string) error

	// SavePIN creates or replaces the account's PIN hash and forgets its
	// count of wrong current PINs.
	SavePIN(ctx context.Context, tenantID, accountID, hash string, at time.Time) error
	// ReservePINAttempt counts an attempt to change the PIN with the
	// current PIN before that PIN is checked, atomically: it returns the
	// count including this attempt, or ok=false when
	// credential.MaxPINFailures are already counted (or there is no PIN).
	ReservePINAttempt(ctx context.Context, tenantID, accountID string) (count int, ok bool, err error)
	// ReleasePINAttempt gives back an attempt ReservePINAttempt counted
	// whose PIN was never checked (the hash pool was busy).
	ReleasePINAttempt(ctx context.Context, tenantID, accountID string) error
	// AddDevice remembers a device that may unlock with the PIN.
	AddDevice(ctx context.Context, d *credential.Device) error
	// ReserveDeviceAttempt counts a PIN log-in attempt on a live device
	// before its PIN is checked, atomically: it returns the count
	// including this attempt, or ok=false when credential.MaxPINFailures
	// are already counted or the device is revoked, so parallel guesses
	// cannot exceed the limit.
	ReserveDeviceAttempt(ctx context.Context, tenantID, deviceID string) (count int, ok bool, err error)
	// ReleaseDeviceAttempt gives back an attempt ReserveDeviceAttempt
	// counted whose PIN was never checked (the hash pool was busy).
	ReleaseDeviceAttempt(ctx context.Context, tenantID, deviceID string) error
	// UsedDevice records a successful unlock and clears the failures.
	UsedDevice(ctx context.Context, tenantID, deviceID string, at time.Time) error
	// RevokeDevice revokes one device's key (its last allowed PIN was
	// wrong).
	RevokeDevice(ctx context.Context, tenantID, deviceID string, at time.Time) error
	// RevokeDevices revokes every device of the account (a new password,
	// a lock, a disabled account).
	RevokeDevices(ctx context.Context, tenantID, accountID string, at time.Time) error

	CreateSession(ctx context.Context, s *credential.Session) error
	// TouchSession records use of a session.
	TouchSession(ctx context.Context, tenantID, id string, at time.Time) error
	// RevokeSessions revokes the account's live sessions (only ids, when
	// given; all but except otherwise) with the PIN keys of their
	// devices, and returns the ids revoked.
	RevokeSessions(ctx context.Context, tenantID, accountID string, ids []string, except string, at time.Time) ([]string, error)
	// RevokeSessionsCreatedBy revokes the account's live sessions created
	// at or before createdBy with the PIN keys of their devices, and
	// returns the ids revoked: what an event of another service ends (a
	// session begun after it is not the event's to end).
	RevokeSessionsCreatedBy(ctx context.Context, tenantID, accountID string, createdBy, at time.Time) ([]string, error)

	AddRefreshToken(ctx context.Context, t *credential.RefreshToken) error
	// UseRefreshToken marks the token used, atomically. A token used
	// before returns reused=true (and the token with its UsedAt and
	// Successor, to find its session); an unknown or expired one returns
	// errs NotFound.
	UseRefreshToken(ctx context.Context, hash [32]byte, now time.Time) (t *credential.RefreshToken, reused bool, err error)
	// SetRefreshSuccessor keeps, on the spent token hash, the sealed token
	// that replaced it.
	SetRefreshSuccessor(ctx context.Context, hash [32]byte, sealed []byte) error

	AddTicket(ctx context.Context, t *credential.LoginTicket, done []credential.Step) error
	// UseTicket consumes a live ticket atomically and returns it with the
	// steps already done; a used, expired or unknown one is errs NotFound.
	// Of parallel transactions using one ticket, exactly one gets it.
	UseTicket(ctx context.Context, hash [32]byte, now time.Time) (*credential.LoginTicket, []credential.Step, error)
	// FailTicketCode counts a wrong code given with a live ticket,
	// atomically, and returns the count; the
	// credential.MaxTicketCodeFailures-th ends the ticket. A used, expired
	// or unknown ticket is errs NotFound.
	FailTicketCode(ctx context.Context, hash [32]byte, now time.Time) (int, error)
	// ClaimExpiryWarnings returns up to limit passwords of the tenant, not
	// temporary, changed after changedAfter and at or before changedUpTo,
	// that were not warned of for this password and this maxAgeDays, and
	// remembers them as warned at now, so that each expiry is warned once.
	ClaimExpiryWarnings(ctx context.Context, tenantID string, maxAgeDays int, changedAfter, changedUpTo, now time.Time,
		limit int) ([]credential.ExpiryWarning, error)
	// StartTicketEnrollment marks a live ticket as having started its TOTP
	// enrolment (the ENROLL_MFA step), keeping its expiry and its count of
	// wrong codes. A used, expired or unknown ticket is errs NotFound.
	StartTicketEnrollment(ctx context.Context, hash [32]byte, now time.Time) error

	// Emit writes an event to the outbox, published after commit.
	Emit(ctx context.Context, ev Event) error
}

// Event is a domain event ready for the outbox.
type Event struct {
	ID      string
	Subject string
	Message proto.Message
}

// Pruned counts what one Prune deleted.
type Pruned struct {
	Sessions, RefreshTokens, LoginTickets, Devices int
}
