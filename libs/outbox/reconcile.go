package outbox

import (
	"context"
	"fmt"

	"github.com/latchkey/latchkey/libs/clock"
)

// Reconcile checks that JetStream still has the events it acknowledged:
// it republishes, by event id (Nats-Msg-Id), one batch of the rows marked
// published between ReconcileAfter and ReconcileWithin ago that no
// reconcile has checked yet. JetStream drops each copy as a duplicate while it has
// the event; one it stores instead had been lost after it was
// acknowledged (a NATS failover onto a replica that had not got it, a
// stream restored from an old copy), and is now published again.
// Consumers drop a copy they had already seen by its id (package inbox).
//
// Rows published but never marked sent (a relay crashing in between) need
// no reconcile: they stay pending and go out again once their lease ends,
// inside the duplicate window.
//
// Each row is checked once, by one relay: they claim rows as PublishPending
// does (FOR UPDATE SKIP LOCKED on PostgreSQL), and republish a batch at
// once. It returns how many rows it checked and how many of them had been
// lost.
func (r *Relay) Reconcile(ctx context.Context) (checked, lost int, err error) {
	now := clock.System{}.Now() // JetStream's duplicate window is real time
	q := `UPDATE outbox_events SET reconciled_at = $1
		WHERE seq IN (SELECT seq FROM outbox_events
			WHERE published_at IS NOT NULL AND reconciled_at IS NULL AND published_at > $2 AND published_at <= $3
			ORDER BY seq LIMIT $4` + r.skipLocked() + `)` + r.unflushed() + `
		RETURNING seq, id, subject, type, payload`
	rows, err := queryRows(ctx, r.o.db, q, now, now.Add(-r.opts.ReconcileWithin), now.Add(-r.opts.ReconcileAfter), r.opts.Batch)
	if err != nil {
		return 0, 0, fmt.Errorf("reconcile: claim: %w", err)
	}
	var failed []pendingRow
	for i, res := range r.publishAll(ctx, rows, nil) { // a republished copy starts no trace
		row := rows[i]
		switch {
		case res.err != nil:
			failed = append(failed, row)
			if err == nil {
				err = fmt.Errorf("reconcile: republish %s %s: %w", row.subject, row.id, res.err)
			}
		case !res.duplicate:
			lost++
			r.opts.Logger.Warn("outbox reconcile: an acknowledged event was missing from JetStream; published again",
				"event_id", row.id, "subject", row.subject)
		}
	}
	if len(failed) > 0 {
		// Checked at the next reconcile, if still in the window.
		in, args := seqsIn(failed)
		_, _ = r.o.db.Exec(context.WithoutCancel(ctx), "UPDATE outbox_events SET reconciled_at = NULL WHERE seq IN "+in+r.unflushed(), args...)
	}
	return len(rows) - len(failed), lost, err
}

// reconcileAll reconciles batch after batch until none is left, logging
// what it found; Run calls it every ReconcileEvery.
func (r *Relay) reconcileAll(ctx context.Context) {
	total, lostTotal := 0, 0
	for ctx.Err() == nil {
		n, lost, err := r.Reconcile(ctx)
		total, lostTotal = total+n, lostTotal+lost
		if err != nil {
			r.opts.Logger.Warn("outbox reconcile failed", "err", err)
			break
		}
		if n < r.opts.Batch {
			break
		}
	}
	r.lost.Add(uint64(lostTotal))
	if lostTotal > 0 {
		r.opts.Logger.Warn("outbox reconcile: events lost by NATS were published again", "checked", total, "lost", lostTotal)
	}
}

// Lost counts the events Run's reconciles found missing from JetStream
// and published again since the relay started: nonzero means NATS lost
// acknowledged messages (look at its replicas and failovers).
func (r *Relay) Lost() uint64 { return r.lost.Load() }
