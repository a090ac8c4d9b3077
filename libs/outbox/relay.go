package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/natsx"
)

// RelayOptions tune a relay; zero values take the defaults.
type RelayOptions struct {
	// Batch is how many rows one claim takes (default 100).
	Batch int
	// Lease is how long a claimed row stays reserved for this relay. A relay
	// that dies holding a lease delays those rows by at most this long
	// (default 30s).
	Lease time.Duration
	// Poll is the longest the relay sleeps without a wake-up; it catches
	// rows whose lease expired (default 2s).
	Poll time.Duration
	// Retention is how long sent rows are kept before being deleted
	// (default 24h).
	Retention time.Duration
	// ReconcileEvery is how often Run reconciles (Reconcile; default
	// 30s, negative: never).
	ReconcileEvery time.Duration
	// ReconcileAfter is how long after a row was published it is checked
	// (default 30s): by then a NATS failover that lost it is over.
	ReconcileAfter time.Duration
	// ReconcileWithin is how long after a row was published it can still
	// be checked (default natsx.DuplicateWindow less 30s): the check
	// relies on JetStream still remembering the event id, so it must stay
	// inside the stream's duplicate window. Both are real time, as that
	// window is, whatever clock the outbox has.
	ReconcileWithin time.Duration
	// Names are the deployment's names on NATS: rows keep their base
	// subjects and are published to Names.Subject of them.
	Names  natsx.Names
	Logger *slog.Logger
}

// publishTimeout bounds the wait for JetStream's acknowledgements of one
// batch; it answers in milliseconds when it is up.
const publishTimeout = 10 * time.Second

// Relay publishes committed outbox rows to JetStream.
type Relay struct {
	o    *Outbox
	js   jetstream.JetStream
	opts RelayOptions
	lost atomic.Uint64
}

// NewRelay returns a relay for o publishing to js.
func (o *Outbox) NewRelay(js jetstream.JetStream, opts RelayOptions) *Relay {
	if opts.Batch <= 0 {
		opts.Batch = 100
	}
	if opts.Lease <= 0 {
		opts.Lease = 30 * time.Second
	}
	if opts.Poll <= 0 {
		opts.Poll = 2 * time.Second
	}
	if opts.Retention <= 0 {
		opts.Retention = 24 * time.Hour
	}
	if opts.ReconcileEvery == 0 {
		opts.ReconcileEvery = 30 * time.Second
	}
	if opts.ReconcileAfter <= 0 {
		opts.ReconcileAfter = 30 * time.Second
	}
	if opts.ReconcileWithin <= 0 {
		opts.ReconcileWithin = natsx.DuplicateWindow - 30*time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Relay{o: o, js: js, opts: opts}
}

// Run publishes until ctx is cancelled. It returns nil on cancellation;
// failures to reach NATS or the database are logged and retried with
// backoff, never returned, so one outage does not stop a service.
//
// Reconciling (every ReconcileEvery) runs beside publishing, not between
// its rounds: at a steady rate of changes it checks thousands of rows, and
// new events must not wait for that.
func (r *Relay) Run(ctx context.Context) error {
	wake := r.o.subscribe()
	defer r.o.unsubscribe(wake)
	var wg sync.WaitGroup
	defer wg.Wait()
	if pg, ok := r.o.db.(*dbx.PG); ok {
		wg.Go(func() { r.listen(ctx, pg, wake) })
	}
	if r.opts.ReconcileEvery > 0 {
		wg.Go(func() {
			for clock.Wait(ctx, r.opts.ReconcileEvery, nil) {
				r.reconcileAll(ctx)
			}
		})
	}
	backoff := time.Duration(0)
	lastPrune := time.Time{}
	for {
		_, claimed, err := r.publishPending(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			backoff = min(max(2*backoff, 100*time.Millisecond), 10*time.Second)
			r.opts.Logger.Warn("outbox relay: publish failed; retrying", "err", err, "retry_in", backoff)
			if !clock.Wait(ctx, backoff, nil) {
				return nil
			}
			continue
		}
		backoff = 0
		if claimed == r.opts.Batch {
			continue // there may be more
		}
		// A smaller batch was all there was: what commits from now on
		// wakes the relay (a commit while this batch was out already
		// has), so it does not ask again for nothing, a statement per
		// event when events come one at a time.
		if now := time.Now(); now.Sub(lastPrune) > time.Hour {
			lastPrune = now
			if err := r.prune(ctx); err != nil {
				r.opts.Logger.Warn("outbox relay: prune failed", "err", err)
			}
		}
		if !clock.Wait(ctx, r.opts.Poll, wake) {
			return nil
		}
	}
}

// PublishPending claims one batch of pending rows, publishes them in the
// order they were written and marks them sent. It returns how many it
// published.
//
// The batch is published without waiting for each acknowledgement (one
// round trip to JetStream for the batch, not one per row): JetStream
// stores what one connection sends in the order it was sent. A row that
// failed is released and published again later, possibly after rows of
// its batch that were acknowledged; each row is marked sent only once
// JetStream acknowledged it.
func (r *Relay) PublishPending(ctx context.Context) (int, error) {
	sent, _, err := r.publishPending(ctx)
	return sent, err
}

// publishPending is PublishPending, also saying how many rows it claimed.
func (r *Relay) publishPending(ctx context.Context) (sent, claimed int, err error) {
	rows, err := r.claim(ctx)
	if err != nil || len(rows) == 0 {
		return 0, 0, err
	}
	sent, err = r.publishClaimed(ctx, rows)
	return sent, len(rows), err
}

// publishClaimed publishes claimed rows and marks them sent.
func (r *Relay) publishClaimed(ctx context.Context, rows []pendingRow) (int, error) {
	parents := r.traceparents(ctx, rows)
	results := r.publishAll(ctx, rows, parents)
	var sent, failed []pendingRow
	var firstErr error
	for i, res := range results {
		if res.err != nil {
			failed = append(failed, rows[i])
			if firstErr == nil {
				firstErr = fmt.Errorf("publish %s %s: %w", rows[i].subject, rows[i].id, res.err)
			}
			continue
		}
		sent = append(sent, rows[i])
	}
	if len(failed) > 0 {
		r.release(ctx, failed, firstErr)
	}
	if len(sent) > 0 {
		// Marked even when ctx was cancelled meanwhile, so a relay
		// stopping gracefully leaves no event published but unmarked.
		in, args := seqsIn(sent, r.o.clock.Now(), clock.System{}.Now())
		if _, err := r.o.db.Exec(context.WithoutCancel(ctx), "UPDATE outbox_events SET sent_at = $1, published_at = $2, lease_until = NULL, last_error = NULL WHERE seq IN "+in+r.unflushed(), args...); err != nil {
			// Published but not marked: they will be published again
			// after their lease, and JetStream or the consumer drops the
			// copies.
			return 0, fmt.Errorf("mark %d events sent: %w", len(sent), err)
		}
	}
	return len(sent), firstErr
}

// published is the outcome of publishing one row.
type published struct {
	duplicate bool
	err       error
}

// publishAll publishes rows, each with its event id as Nats-Msg-Id, all
// at once, and waits for every acknowledgement (at most publishTimeout),
// so a relay stopping gracefully never leaves an event stored in the
// stream but not marked sent: publishes in flight are let finish when ctx
// is cancelled. It reports, row by row, whether JetStream took the event
// or dropped it as a duplicate, or why it failed. parents (by seq) are the
// trace contexts to continue.
func (r *Relay) publishAll(ctx context.Context, rows []pendingRow, parents map[int64]string) []published {
	results := make([]published, len(rows))
	futures := make([]jetstream.PubAckFuture, len(rows))
	spans := make([]trace.Span, len(rows))
	for i, row := range rows {
		msg := &nats.Msg{Subject: r.opts.Names.Subject(row.subject), Data: row.payload, Header: nats.Header{}}
		msg.Header.Set(HeaderEventType, row.typ)
		msg.Header.Set(HeaderContentType, ContentTypeProtobuf)
		spans[i] = startPublishSpan(ctx, parents[row.seq], row, msg)
		futures[i], results[i].err = r.js.PublishMsgAsync(msg, jetstream.WithMsgID(row.id))
	}
	wait, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	for i, f := range futures {
		if f != nil {
			select {
			case ack := <-f.Ok():
				results[i].duplicate = ack.Duplicate
			case err := <-f.Err():
				results[i].err = err
			case <-wait.Done():
				results[i].err = fmt.Errorf("no acknowledgement within %s", publishTimeout)
			}
		}
		endPublishSpan(spans[i], results[i].err)
	}
	return results
}

// unflushed ends the WHERE of the relay's own updates of the outbox
// (claims, marks, releases). On PostgreSQL it has the commit not wait for
// the disk (synchronous_commit off, for that statement's transaction
// only; set_config runs as the rows are picked, before the commit): a
// crash of the database can lose only the last few, and a lost claim or
// mark only has an event published again, which JetStream drops by its
// id. The relay then waits for no disk flush per batch. SQLite (WAL,
// synchronous NORMAL) does not flush at each commit anyway.
func (r *Relay) unflushed() string {
	if r.o.db.Dialect() == dbx.Postgres {
		return " AND set_config('synchronous_commit', 'off', true) IS NOT NULL"
	}
	return ""
}

// seqsIn is "($n, $n+1, …)" for the seqs of rows, numbered after the
// leading args, and all the args.
func seqsIn(rows []pendingRow, leading ...any) (string, []any) {
	var b strings.Builder
	args := append(make([]any, 0, len(leading)+len(rows)), leading...)
	b.WriteByte('(')
	for i, row := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		args = append(args, row.seq)
		fmt.Fprintf(&b, "$%d", len(args))
	}
	b.WriteByte(')')
	return b.String(), args
}

type pendingRow struct {
	seq     int64
	id      string
	subject string
	typ     string
	payload []byte
}

func (r *Relay) claim(ctx context.Context) ([]pendingRow, error) {
	now := r.o.clock.Now()
	q := `UPDATE outbox_events SET lease_until = $1, attempts = attempts + 1
		WHERE seq IN (SELECT seq FROM outbox_events
			WHERE sent_at IS NULL AND (lease_until IS NULL OR lease_until < $2)
			ORDER BY seq LIMIT $3` + r.skipLocked() + `)` + r.unflushed() + `
		RETURNING seq, id, subject, type, payload`
	rows, err := queryRows(ctx, r.o.db, q, now.Add(r.opts.Lease), now, r.opts.Batch)
	if err != nil {
		return nil, fmt.Errorf("claim: %w", err)
	}
	return rows, nil
}

// skipLocked ends the subquery that picks rows to claim: on PostgreSQL,
// replicas claim disjoint rows instead of waiting on each other (SQLite
// has one writer).
func (r *Relay) skipLocked() string {
	if r.o.db.Dialect() == dbx.Postgres {
		return " FOR UPDATE SKIP LOCKED"
	}
	return ""
}

// queryRows runs q, which returns rows as claim's does, and gives them in
// commit order (RETURNING gives none).
func queryRows(ctx context.Context, db dbx.Querier, q string, args ...any) ([]pendingRow, error) {
	res, err := db.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer res.Close()
	var rows []pendingRow
	for res.Next() {
		var p pendingRow
		if err := res.Scan(&p.seq, &p.id, &p.subject, &p.typ, &p.payload); err != nil {
			return nil, err
		}
		rows = append(rows, p)
	}
	if err := res.Err(); err != nil {
		return nil, err
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].seq < rows[j].seq })
	return rows, nil
}

// release gives back the lease of rows not published, so they go out on the
// next attempt rather than after the lease expires.
func (r *Relay) release(ctx context.Context, rows []pendingRow, cause error) {
	in, args := seqsIn(rows, cause.Error())
	if _, err := r.o.db.Exec(context.WithoutCancel(ctx), "UPDATE outbox_events SET lease_until = NULL, last_error = $1 WHERE sent_at IS NULL AND seq IN "+in+r.unflushed(), args...); err != nil {
		r.opts.Logger.Warn("outbox relay: release failed", "err", err)
	}
}

func (r *Relay) prune(ctx context.Context) error {
	_, err := r.o.db.Exec(ctx, "DELETE FROM outbox_events WHERE sent_at IS NOT NULL AND sent_at < $1",
		r.o.clock.Now().Add(-r.opts.Retention))
	return err
}

// listen turns PostgreSQL notifications from any process's commits into
// wake-ups, reconnecting after failures.
func (r *Relay) listen(ctx context.Context, pg *dbx.PG, wake chan struct{}) {
	for ctx.Err() == nil {
		err := func() error {
			conn, err := pg.Pool().Acquire(ctx)
			if err != nil {
				return err
			}
			defer conn.Release()
			if _, err := conn.Exec(ctx, "LISTEN "+r.o.channel); err != nil {
				return err
			}
			// Rows committed while we were not listening: look once.
			signal(wake)
			for {
				if _, err := conn.Conn().WaitForNotification(ctx); err != nil {
					// The connection may still be listening; do not hand
					// it back to the pool in that state.
					conn.Conn().Close(context.WithoutCancel(ctx))
					return err
				}
				signal(wake)
			}
		}()
		if ctx.Err() != nil {
			return
		}
		if !errors.Is(err, context.Canceled) {
			r.opts.Logger.Warn("outbox relay: listen failed; retrying", "err", err)
		}
		clock.Wait(ctx, time.Second, nil)
	}
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
