package app

import (
	"context"
	"strings"
	"sync"

	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/services/notification/internal/delivery"
	"github.com/latchkey/latchkey/services/notification/internal/store"
)

// SendNotification stores a request for an e-mail and returns its
// delivery. A request id seen before returns the first delivery and stores
// nothing. Nothing is sent here: the worker picks the delivery up once it
// is committed. Requests that arrive while one is being stored are stored
// together in the next transaction (a commit per request is what limits
// the rate; on SQLite, the only writer); if that transaction fails, each
// is stored alone, so that one bad request cannot fail the others.
func (a *App) SendNotification(ctx context.Context, req delivery.Request) (*delivery.Delivery, error) {
	req.RecipientAddress = strings.TrimSpace(req.RecipientAddress)
	if err := req.Validate(); err != nil {
		return nil, err
	}
	e := &enqueued{ctx: ctx, req: req, done: make(chan struct{})}
	if a.enqueue.add(e) {
		go a.storeEnqueued()
	}
	select {
	case <-e.done:
		return e.d, e.err
	case <-ctx.Done():
		// It may still be stored: a retry with its request id returns it.
		return nil, ctx.Err()
	}
}

// enqueued is one SendNotification call waiting to be stored.
type enqueued struct {
	ctx  context.Context
	req  delivery.Request
	d    *delivery.Delivery
	err  error
	done chan struct{}
}

// enqueuer holds the calls waiting to be stored; one goroutine at a time
// stores them, started by the call that finds none running.
type enqueuer struct {
	mu      sync.Mutex
	waiting []*enqueued
	running bool
}

// add queues e and reports whether the caller must start storing.
func (q *enqueuer) add(e *enqueued) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.waiting = append(q.waiting, e)
	start := !q.running
	q.running = true
	return start
}

// take returns the calls waiting (at most maxEnqueue), or none once there
// are none left, and then the next add starts storing again.
func (q *enqueuer) take() []*enqueued {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := min(len(q.waiting), maxEnqueue)
	batch := q.waiting[:n:n]
	q.waiting = q.waiting[n:]
	if n == 0 {
		q.running, q.waiting = false, nil
	}
	return batch
}

// maxEnqueue bounds the requests stored in one transaction.
const maxEnqueue = 64

// storeEnqueued stores the waiting calls until there are none.
func (a *App) storeEnqueued() {
	for batch := a.enqueue.take(); len(batch) > 0; batch = a.enqueue.take() {
		if len(batch) == 1 || a.storeAll(batch) != nil {
			for _, e := range batch {
				a.storeAll([]*enqueued{e})
			}
		}
		for _, e := range batch {
			close(e.done)
		}
	}
}

// storeAll stores batch in one transaction, in the context of its first
// call (the others' contexts are only theirs to wait on); on failure each
// call's result is the error.
func (a *App) storeAll(batch []*enqueued) error {
	ds := make([]*delivery.Delivery, len(batch))
	err := a.store.InTx(batch[0].ctx, func(tx store.Tx) error {
		for i, e := range batch {
			var err error
			if ds[i], err = a.SendNotificationInTx(e.ctx, tx, e.req); err != nil {
				return err
			}
		}
		return nil
	})
	for i, e := range batch {
		e.d, e.err = ds[i], err
		if err != nil {
			e.d = nil
		}
	}
	return err
}

// SendNotificationInTx is SendNotification in tx, a transaction of the
// caller's: the inbox's, which records the message id in the same
// transaction, so a redelivered request stores nothing more.
func (a *App) SendNotificationInTx(ctx context.Context, tx store.Tx, req delivery.Request) (*delivery.Delivery, error) {
	req.RecipientAddress = strings.TrimSpace(req.RecipientAddress)
	if err := req.Validate(); err != nil {
		return nil, err
	}
	now := a.clock.Now()
	d, created, err := tx.Insert(ctx, &delivery.Delivery{
		ID: ids.New(), RequestID: req.RequestID, TenantID: req.TenantID, AccountID: req.AccountID,
		Template: req.Template, RecipientAddress: req.RecipientAddress, RecipientName: req.RecipientName,
		Locale: req.Locale, Variables: req.Variables, Status: delivery.Queued, CreatedAt: now, UpdatedAt: now,
	})
	if err != nil {
		return nil, err
	}
	if created {
		tx.AfterCommit(a.Wake)
	}
	return d, nil
}
