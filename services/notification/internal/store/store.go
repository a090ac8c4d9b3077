// Package store is what the notification service keeps: the deliveries
// table (every requested e-mail, stored before it is sent) and the events
// written with its state changes. sqlstore implements it on both dialects;
// storetest is the conformance suite they pass.
package store

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/libs/dbx"
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

// Store keeps deliveries.
type Store interface {
	// Insert stores d (QUEUED, due now) through q — the caller's
	// transaction or the database — unless a delivery with its request id
	// exists; it returns the stored delivery and whether it is new.
	Insert(ctx context.Context, q dbx.Querier, d *delivery.Delivery) (*delivery.Delivery, bool, error)
	// Get returns a delivery; errs NotFound when there is none.
	Get(ctx context.Context, id string) (*delivery.Delivery, error)
	// Claim leases up to limit deliveries that are due at now (QUEUED or
	// RETRYING whose time has come, or SENDING whose lease ran out: a
	// worker that died mid-delivery), marks them SENDING until now+lease
	// and counts the attempt. Replicas claim disjoint rows.
	Claim(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*delivery.Delivery, error)
	// Admit applies the rate limits to a claimed delivery about to be sent
	// for the first time to address: under the limits it records the
	// address and counts the delivery (true); over them it ends it
	// RATE_LIMITED with a NotificationFailed event (false). A delivery
	// already admitted is admitted again without counting.
	Admit(ctx context.Context, d *delivery.Delivery, address string, now time.Time, l Limits) (bool, error)
	// Finish records the outcome of attempt number d.Attempts, unless
	// another worker took the delivery over since (then it reports false).
	// SENT and FAILED clear the variables and emit NotificationSent or
	// NotificationFailed in the same transaction.
	Finish(ctx context.Context, d *delivery.Delivery, r Result, now time.Time) (bool, error)
	// Prune deletes deliveries that ended (SENT, FAILED, RATE_LIMITED)
	// before before, and returns how many; their request ids may then be
	// used again.
	Prune(ctx context.Context, before time.Time) (int64, error)
	// Counts returns the number of deliveries per status, for metrics and
	// tests.
	Counts(ctx context.Context) (map[delivery.Status]int, error)
}
