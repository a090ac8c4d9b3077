// Package store is what the notification service keeps: the deliveries
// table (every requested e-mail, stored before it is sent) and the events
// written with its state changes. sqlstore implements it on both dialects;
// storetest is the conformance suite they pass.
package store

import (
	"context"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/latchkey/latchkey/services/notification/internal/delivery"
)

// Limits are the rate limits checked when a delivery is admitted: at most
// PerRecipient admitted deliveries to one address, and PerTenant for one
// tenant, within Window (0 = no limit).
type Limits struct {
	PerRecipient int
	PerTenant    int
	Window       time.Duration
}

// Result records the outcome of one attempt.
type Result struct {
	// Status is SENT, RETRYING or FAILED.
	Status delivery.Status
	Error  string
	// NextAttemptAt is when RETRYING is due.
	NextAttemptAt time.Time
}

// Store reads outside transactions, opens transactions for changes, and
// runs the worker's single-statement chores.
type Store interface {
	Reader
	// InTx runs fn in a transaction. fn must not make network calls: a
	// transaction holds locks (and on SQLite, the only writer).
	InTx(ctx context.Context, fn func(tx Tx) error) error
	// Claim leases up to limit deliveries that are due at now (QUEUED or
	// RETRYING whose time has come, or SENDING whose lease ran out: a
	// worker that died mid-delivery), marks them SENDING until now+lease
	// and counts the attempt. Replicas claim disjoint rows.
	Claim(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*delivery.Delivery, error)
	// Prune deletes deliveries that ended (SENT, FAILED, RATE_LIMITED)
	// before before, and returns how many; their request ids may then be
	// used again.
	Prune(ctx context.Context, before time.Time) (int64, error)
	// Counts returns the number of deliveries per status, for metrics and
	// tests.
	Counts(ctx context.Context) (map[delivery.Status]int, error)
}

// Reader is the queries of the service.
type Reader interface {
	// Get returns a delivery; errs NotFound when there is none.
	Get(ctx context.Context, id string) (*delivery.Delivery, error)
}

// Tx is a transaction: reads see its own writes; events written with Emit
// commit or roll back with the changes.
type Tx interface {
	Reader
	// Insert stores d (QUEUED, due at d.CreatedAt) unless a delivery with
	// its request id exists; it returns the stored delivery and whether it
	// is new.
	Insert(ctx context.Context, d *delivery.Delivery) (*delivery.Delivery, bool, error)
	// Admit applies the rate limits to a claimed delivery about to be sent
	// for the first time to address, at now: under the limits it records
	// the address and counts the delivery (true); over them it ends it
	// RATE_LIMITED with the reason in d.LastError (false, d.Status
	// RATE_LIMITED). A delivery already admitted is admitted again without
	// counting. False with d unchanged means another worker took the
	// delivery over. Concurrent admissions of one tenant wait for each
	// other, so replicas cannot both take the last free slot.
	Admit(ctx context.Context, d *delivery.Delivery, address string, now time.Time, l Limits) (bool, error)
	// Finish records the outcome of attempt number d.Attempts at now,
	// unless another worker took the delivery over since (then it reports
	// false). SENT and FAILED clear the variables. d is updated to match.
	// It also stores d's admission (AdmittedAt, and RecipientAddress as
	// the rate key) if Admit did not: with no limits to apply, admitting
	// needs no transaction of its own.
	Finish(ctx context.Context, d *delivery.Delivery, r Result, now time.Time) (bool, error)
	// Emit writes an event to the outbox, published after commit.
	Emit(ctx context.Context, ev Event) error
	// AfterCommit runs fn once the transaction has committed (never when
	// it rolls back): to wake the worker for a delivery it can now see.
	AfterCommit(fn func())
}

// Event is a domain event ready for the outbox.
type Event struct {
	ID      string // the event id, also its Nats-Msg-Id
	Subject string
	Message proto.Message
}
