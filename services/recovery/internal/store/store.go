// Package store is what the recovery service keeps: link tokens, reset
// tickets, the queue of forgot-password requests, security questions and
// the e-mail verification of accounts, with the events and e-mail requests
// written with the changes. sqlstore implements it on both dialects;
// storetest is the conformance suite they pass.
package store

import (
	"context"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/latchkey/latchkey/services/recovery/internal/recovery"
)

// Store reads outside transactions, opens transactions for changes, and
// runs the single-statement chores of the reset queue.
type Store interface {
	Reader
	// InTx runs fn in a transaction. fn must not make network calls.
	InTx(ctx context.Context, fn func(tx Tx) error) error
	// Enqueue stores a forgot-password request: one INSERT, nothing read.
	Enqueue(ctx context.Context, r *recovery.ResetRequest) error
	// Claim leases up to limit queued requests (not leased, or whose lease
	// ran out) until now+lease and counts the attempt; replicas claim
	// disjoint rows.
	Claim(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*recovery.ResetRequest, error)
}

// Reader is the queries of the service.
type Reader interface {
	// LinkToken returns the token with hash h, used or not; errs NotFound
	// when there is none.
	LinkToken(ctx context.Context, h recovery.Hash) (*recovery.LinkToken, error)
	// Questions returns an account's security questions in their order.
	Questions(ctx context.Context, tenantID, accountID string) ([]recovery.Question, error)
	// EmailVerified reports whether a link of the account was completed.
	EmailVerified(ctx context.Context, tenantID, accountID string) (bool, error)
}

// Tx is a transaction: reads see its own writes; what Emit writes commits
// or rolls back with the changes.
type Tx interface {
	Reader
	// IssueLinkToken stores t after voiding, at t.CreatedAt, the
	// account's other usable tokens of its kind and its usable tickets,
	// and returns t and true; when t.RequestID (not "") issued a token of
	// its kind already, it changes nothing and returns that token and
	// false.
	IssueLinkToken(ctx context.Context, t *recovery.LinkToken) (*recovery.LinkToken, bool, error)
	// ConsumeLinkToken marks the usable token of kind with hash h used at
	// now and returns it; errs NotFound when no such token is usable (one
	// of any number of concurrent calls wins).
	ConsumeLinkToken(ctx context.Context, h recovery.Hash, kind recovery.Kind, now time.Time) (*recovery.LinkToken, error)
	// RestoreLinkToken makes a token consumed by ConsumeLinkToken usable
	// again (the password it was to set was refused), unless it was voided
	// since.
	RestoreLinkToken(ctx context.Context, h recovery.Hash) error
	// CountFailedTry counts a wrong proof against the usable token h and
	// voids it at now when it reaches limit; it returns the count.
	CountFailedTry(ctx context.Context, h recovery.Hash, now time.Time, limit int) (int, error)
	// VoidLinkTokens voids, at now, the account's usable tokens created at
	// or before before (of kind, or every kind when kind is ""), and
	// their tickets; it returns how many tokens.
	VoidLinkTokens(ctx context.Context, tenantID, accountID string, kind recovery.Kind, before, now time.Time) (int, error)
	// InsertTicket stores k after voiding the other unused tickets of its
	// link token.
	InsertTicket(ctx context.Context, k *recovery.Ticket) error
	// ConsumeTicket marks the usable ticket h used at now and returns it;
	// errs NotFound when there is none.
	ConsumeTicket(ctx context.Context, h recovery.Hash, now time.Time) (*recovery.Ticket, error)
	// RestoreTicket makes a consumed ticket usable again.
	RestoreTicket(ctx context.Context, h recovery.Hash) error
	// ReplaceQuestions makes qs the account's security questions.
	ReplaceQuestions(ctx context.Context, tenantID, accountID string, qs []recovery.Question, now time.Time) error
	// MarkEmailVerified records that the account's e-mail address was
	// proven at now.
	MarkEmailVerified(ctx context.Context, tenantID, accountID string, now time.Time) error
	// ForgetEmailVerified records that the account's e-mail address
	// changed at changedAt: a proof made at or before it was of the old
	// address. A later one (the event came late) stays.
	ForgetEmailVerified(ctx context.Context, tenantID, accountID string, changedAt time.Time) error
	// DeleteRequest removes a handled forgot-password request.
	DeleteRequest(ctx context.Context, id string) error
	// Emit writes an event, or a request to the notification service's
	// work queue, to the outbox, published after commit.
	Emit(ctx context.Context, ev Event) error
	// AfterCommit runs fn once the transaction has committed.
	AfterCommit(fn func())
}

// Event is a message ready for the outbox: a domain event, or an e-mail
// request on the notification work queue.
type Event struct {
	ID      string // the message id, also its Nats-Msg-Id
	Subject string
	Message proto.Message
}
