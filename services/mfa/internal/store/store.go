// Package store is what the mfa service keeps: factors (sealed TOTP
// secrets with their last accepted step), recovery codes (hashed), the
// queue of key requests, and the events written with the changes.
// sqlstore implements it on both dialects; storetest is the conformance
// suite they pass.
package store

import (
	"context"
	"errors"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/latchkey/latchkey/services/mfa/internal/factor"
)

// Store reads outside transactions, opens transactions for changes, and
// runs the key-request queue's single statements.
type Store interface {
	Reader
	// InTx runs fn in a transaction. fn must not make network calls nor
	// hash: a transaction holds locks (on SQLite, the only writer).
	InTx(ctx context.Context, fn func(tx Tx) error) error
	// EnqueueKeyRequest stores r, due at once, in one statement.
	EnqueueKeyRequest(ctx context.Context, r *factor.KeyRequest) error
	// ClaimKeyRequests takes up to limit requests due at now, counts the
	// attempt and makes them due again at now+lease (a worker that dies
	// leaves them to another after that). Replicas claim disjoint rows.
	ClaimKeyRequests(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*factor.KeyRequest, error)
	// DeleteKeyRequest removes a request once handled.
	DeleteKeyRequest(ctx context.Context, id string) error
}

// Reader is the queries of the service; every one is scoped by tenant.
type Reader interface {
	// Factor returns the account's factor; errs NotFound when it has
	// none.
	Factor(ctx context.Context, tenantID, accountID string) (*factor.Factor, error)
	// UnusedRecoveryCodes counts the account's recovery codes not used
	// yet.
	UnusedRecoveryCodes(ctx context.Context, tenantID, accountID string) (int, error)
	// RecoveryCodeByLookup returns the account's unused recovery code with
	// that lookup part; errs NotFound when there is none.
	RecoveryCodeByLookup(ctx context.Context, tenantID, accountID, lookup string) (*factor.RecoveryCode, error)
}

// Tx is a transaction: reads see its own writes; events written with Emit
// commit or roll back with the changes.
type Tx interface {
	Reader
	// PutFactor stores f, an unconfirmed factor, as the account's,
	// replacing an unconfirmed one it had; it fails with
	// ErrConfirmedFactor when the account has a confirmed factor (also
	// one confirmed while this runs).
	PutFactor(ctx context.Context, f *factor.Factor) error
	// AcceptStep records step as factor id's last accepted step at now,
	// only when it is later than the stored one and the factor has had
	// fewer than maxFailed wrong confirmation codes; it reports whether
	// it did. This is the one place a code is accepted: of parallel
	// submissions of one code, one gets true.
	AcceptStep(ctx context.Context, id string, step int64, now time.Time, maxFailed int) (bool, error)
	// Activate confirms factor id at now unless it is Active already,
	// reporting whether it changed it.
	Activate(ctx context.Context, id string, now time.Time) (bool, error)
	// CountFailedCode adds a wrong confirmation code to unconfirmed factor
	// id and returns the count (0 when the factor is gone or confirmed).
	CountFailedCode(ctx context.Context, id string) (int, error)
	// Reseal replaces factor id's sealed secret when it is still sealed
	// under oldKeyID (lazy key rotation), reporting whether it did.
	Reseal(ctx context.Context, id, oldKeyID, keyID string, sealed []byte) (bool, error)
	// DeleteFactor removes the account's factor, if any, and reports
	// which it was (nil: none).
	DeleteFactor(ctx context.Context, tenantID, accountID string) (*factor.Factor, error)
	// ReplaceRecoveryCodes voids the account's recovery codes and stores
	// codes instead.
	ReplaceRecoveryCodes(ctx context.Context, tenantID, accountID string, codes []*factor.RecoveryCode) error
	// DeleteRecoveryCodes voids the account's recovery codes and returns
	// how many there were.
	DeleteRecoveryCodes(ctx context.Context, tenantID, accountID string) (int64, error)
	// SpendRecoveryCode marks recovery code id used at now unless it was
	// used already, reporting whether this call used it.
	SpendRecoveryCode(ctx context.Context, id string, now time.Time) (bool, error)
	// Emit writes an event to the outbox, published after commit.
	Emit(ctx context.Context, ev Event) error
	// AfterCommit runs fn once the transaction has committed.
	AfterCommit(fn func())
}

// ErrConfirmedFactor is PutFactor's error when the account's factor is
// confirmed: it is not replaced.
var ErrConfirmedFactor = errors.New("store: the account has a confirmed factor")

// Event is a domain event ready for the outbox.
type Event struct {
	ID      string // the event id, also its Nats-Msg-Id
	Subject string
	Message proto.Message
}
