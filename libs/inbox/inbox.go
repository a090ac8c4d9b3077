// Package inbox consumes events from JetStream idempotently: each event is
// handled inside a database transaction that also records its id, and the
// message is acknowledged only after that transaction commits. A redelivery
// (after a crash between commit and ack, or a relay publishing twice) finds
// the id and changes nothing.
package inbox

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/natsx"
)

//go:embed migrations
var migrations embed.FS

// Migrations is the inbox's own table, per dialect; apply it with
// dbx.Migrate(ctx, db, "inbox", inbox.Migrations).
var Migrations, _ = fs.Sub(migrations, "migrations")

// Handler handles one event inside tx. Returning an error rolls tx back and
// has the event redelivered later; wrap it with Permanent when a retry cannot
// help (a payload that does not decode), so it is not retried forever.
type Handler func(ctx context.Context, tx dbx.Tx, msg jetstream.Msg) error

// Config names the durable consumer.
type Config struct {
	// Stream is the JetStream stream to read by its base name, e.g.
	// LATCHKEY_EVENTS (Names makes it the deployment's).
	Stream string
	// Durable is the consumer's name; every replica of a service uses the
	// same one, so each event is handled by one of them.
	Durable string
	// FilterSubject selects the events by their base subject, e.g.
	// latchkey.events.v1.credential.> (a single subject: NATS 2.9 has no
	// multi-filter consumers).
	FilterSubject string
	// Names are the deployment's names on NATS, applied to Stream and
	// FilterSubject. Durable needs none: a consumer belongs to its stream.
	Names natsx.Names
	// MaxDeliver bounds redeliveries of a failing event (default 20).
	MaxDeliver int
	// AckWait is how long a delivery may take before it is redelivered
	// (default 30s).
	AckWait time.Duration
	// Retention is how long processed event ids are remembered (default
	// 8 days: longer than the events stream keeps an event, 7 days, so no
	// redelivery can outlive its id).
	Retention time.Duration
	Clock     clock.Clock
	Logger    *slog.Logger
}

// PermanentError marks a handler failure that retrying cannot fix.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return "permanent: " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err as a PermanentError.
func Permanent(err error) error { return &PermanentError{Err: err} }

// Run creates or updates the durable consumer and handles events until ctx
// is cancelled.
func Run(ctx context.Context, js jetstream.JetStream, db dbx.DB, cfg Config, h Handler) error {
	if cfg.MaxDeliver == 0 {
		cfg.MaxDeliver = 20
	}
	if cfg.AckWait == 0 {
		cfg.AckWait = 30 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Retention <= 0 {
		cfg.Retention = 8 * 24 * time.Hour
	}
	// At a cold start JetStream may not answer yet: asked patiently.
	var cons jetstream.Consumer
	err := natsx.Patiently(ctx, cfg.Logger, func(ctx context.Context) error {
		var err error
		cons, err = js.CreateOrUpdateConsumer(ctx, cfg.Names.Stream(cfg.Stream), jetstream.ConsumerConfig{
			Durable:       cfg.Durable,
			FilterSubject: cfg.Names.Subject(cfg.FilterSubject),
			AckPolicy:     jetstream.AckExplicitPolicy,
			DeliverPolicy: jetstream.DeliverAllPolicy,
			AckWait:       cfg.AckWait,
			MaxDeliver:    cfg.MaxDeliver,
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("inbox: consumer %s: %w", cfg.Durable, err)
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("inbox: consume %s: %w", cfg.Durable, err)
	}
	h = traced(cfg.Durable, h)
	m := newMeter(cfg)
	go watchLag(ctx, cons, cfg.Durable)
	go prune(ctx, db, cfg)
	go func() {
		<-ctx.Done()
		it.Stop()
	}()
	for {
		msg, err := it.Next()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return nil
			}
			// NATS away: the iterator reconnects by itself.
			cfg.Logger.Info("inbox: next message", "consumer", cfg.Durable, "err", err)
			continue
		}
		handleBatch(ctx, db, cfg, m, h, gather(it, msg))
	}
}

// maxBatch is the most events handled in one transaction.
const maxBatch = 64

// gatherWait is how long gather waits for a next message. Not less: the
// iterator's Next selects between its buffer and the timer, and a timer
// already fired wins half the time over a message already there (a
// microsecond ended batches after two events on a busy machine).
const gatherWait = 200 * time.Microsecond

// gather adds to first the messages already delivered behind it, up to
// maxBatch, without waiting for more: a consumer behind its stream
// commits once for many events, one that keeps up handles each event as
// it comes.
func gather(it jetstream.MessagesContext, first jetstream.Msg) []jetstream.Msg {
	batch := []jetstream.Msg{first}
	for len(batch) < maxBatch {
		// A message the iterator holds comes at once; an empty buffer
		// ends the batch after gatherWait.
		msg, err := it.Next(jetstream.NextMaxWait(gatherWait))
		if err != nil {
			break // none waiting, or the iterator stopped: Run sees which
		}
		batch = append(batch, msg)
	}
	return batch
}

// handleBatch handles the events of batch in order in one transaction
// and acknowledges them after it commits: a commit (a disk flush on
// PostgreSQL) is most of an event's cost, so a consumer behind its stream
// catches up many times faster. When anything in the batch fails, the
// transaction rolls back and each event is handled on its own, so one
// failing event neither holds back nor repeats the others' effects (the
// handlers of the batch run again; the metrics count each event's final
// outcome once, see meter). A batch whose commit was lost and then
// handled again finds its event ids recorded and changes nothing.
func handleBatch(ctx context.Context, db dbx.DB, cfg Config, m *meter, h Handler, batch []jetstream.Msg) {
	one := func() {
		for _, msg := range batch {
			handleOne(ctx, db, cfg, m, h, msg)
		}
	}
	if len(batch) == 1 {
		one()
		return
	}
	for _, msg := range batch {
		if msg.Headers().Get(jetstream.MsgIDHeader) == "" {
			one() // handleOne drops it
			return
		}
	}
	var ran []bool // whether the handler ran on batch[i], in the last try of the transaction
	err := db.InTx(ctx, func(tx dbx.Tx) error {
		fresh, err := recordAll(ctx, tx, cfg, batch)
		if err != nil {
			return err
		}
		ran = make([]bool, len(batch))
		for i, msg := range batch {
			id := msg.Headers().Get(jetstream.MsgIDHeader)
			if !fresh[id] {
				continue // seen before, or earlier in this batch
			}
			delete(fresh, id)
			if err := h(ctx, tx, msg); err != nil {
				return err
			}
			ran[i] = true
		}
		return nil
	})
	if err != nil {
		if ctx.Err() != nil {
			stopped(cfg, batch)
			return
		}
		one()
		return
	}
	for i, msg := range batch {
		if ran[i] {
			m.handled(msg, nil)
		}
		if err := msg.Ack(); err != nil {
			cfg.Logger.Warn("inbox: ack failed", "consumer", cfg.Durable, "event_id", msg.Headers().Get(jetstream.MsgIDHeader), "err", err)
		}
	}
}

// recordAll records the event ids of batch in tx, in one statement a
// chunk (a statement an event was two of the e-mail path's round trips
// per message, issue 14), and returns those not recorded before.
func recordAll(ctx context.Context, tx dbx.Tx, cfg Config, batch []jetstream.Msg) (map[string]bool, error) {
	fresh := make(map[string]bool, len(batch))
	now := cfg.Clock.Now()
	for start := 0; start < len(batch); start += recordChunk {
		chunk := batch[start:min(start+recordChunk, len(batch))]
		var q strings.Builder
		q.WriteString("INSERT INTO inbox_processed (consumer, event_id, processed_at) VALUES ")
		args := []any{cfg.Durable, now}
		for i, msg := range chunk {
			if i > 0 {
				q.WriteString(", ")
			}
			fmt.Fprintf(&q, "($1, $%d, $2)", len(args)+1)
			args = append(args, msg.Headers().Get(jetstream.MsgIDHeader))
		}
		q.WriteString(" ON CONFLICT (consumer, event_id) DO NOTHING RETURNING event_id")
		rows, err := tx.Query(ctx, q.String(), args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			fresh[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return fresh, nil
}

// recordChunk bounds the ids of one INSERT (placeholders).
const recordChunk = 500

// handleInTx records msg's event id in tx and has h handle it, unless the
// id was recorded before (a redelivery): then it does nothing. ran says
// whether h ran.
func handleInTx(ctx context.Context, tx dbx.Tx, cfg Config, h Handler, msg jetstream.Msg) (ran bool, err error) {
	n, err := tx.Exec(ctx, `INSERT INTO inbox_processed (consumer, event_id, processed_at) VALUES ($1, $2, $3)
		ON CONFLICT (consumer, event_id) DO NOTHING`, cfg.Durable, msg.Headers().Get(jetstream.MsgIDHeader), cfg.Clock.Now())
	if err != nil {
		return false, err
	}
	if n == 0 {
		return false, nil // seen before
	}
	return true, h(ctx, tx, msg)
}

func handleOne(ctx context.Context, db dbx.DB, cfg Config, m *meter, h Handler, msg jetstream.Msg) {
	id := msg.Headers().Get(jetstream.MsgIDHeader)
	if id == "" {
		cfg.Logger.Error("inbox: event without Nats-Msg-Id dropped", "consumer", cfg.Durable, "subject", msg.Subject())
		_ = msg.Term()
		return
	}
	var ran bool
	err := db.InTx(ctx, func(tx dbx.Tx) error {
		var err error
		ran, err = handleInTx(ctx, tx, cfg, h, msg)
		return err
	})
	if ran {
		m.handled(msg, err)
	}
	var perm *PermanentError
	switch {
	case err == nil:
		if err := msg.Ack(); err != nil {
			// Redelivered later and then skipped as seen.
			cfg.Logger.Warn("inbox: ack failed", "consumer", cfg.Durable, "event_id", id, "err", err)
		}
	case errors.As(err, &perm):
		cfg.Logger.Error("inbox: event dropped", "consumer", cfg.Durable, "event_id", id, "subject", msg.Subject(), "err", err)
		_ = msg.Term()
	case ctx.Err() != nil:
		stopped(cfg, []jetstream.Msg{msg})
	default:
		delay := time.Second
		if md, mdErr := msg.Metadata(); mdErr == nil {
			delay = min(time.Duration(md.NumDelivered)*time.Second, time.Minute)
		}
		cfg.Logger.Warn("inbox: handler failed; will retry", "consumer", cfg.Durable, "event_id", id, "subject", msg.Subject(), "err", err)
		_ = msg.NakWithDelay(delay)
	}
}

// stopped notes the events whose handling the consumer's stop (a
// shutdown, a rolling restart) cut short. Nothing failed and nobody needs
// to act, so it is no warning. They are not given back with a Nak: in
// the test of this, the server handed a Nak'd event straight back to the
// stopping consumer's open pull request, which nobody read, so it waited
// for the ack wait all the same. Unacknowledged, they come again to
// whichever replica consumes after the ack wait, and are handled once.
func stopped(cfg Config, msgs []jetstream.Msg) {
	cfg.Logger.Debug("inbox: stopped while handling; the events come again after the ack wait", "consumer", cfg.Durable, "events", len(msgs))
}

// prune forgets processed ids older than the retention, hourly, so the
// table does not grow without bound.
func prune(ctx context.Context, db dbx.DB, cfg Config) {
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for {
		if err := Prune(ctx, db, cfg.Durable, cfg.Clock.Now().Add(-cfg.Retention)); err != nil && ctx.Err() == nil {
			cfg.Logger.Warn("inbox: prune failed", "consumer", cfg.Durable, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Prune forgets the ids consumer processed before before.
func Prune(ctx context.Context, db dbx.DB, consumer string, before time.Time) error {
	_, err := db.Exec(ctx, "DELETE FROM inbox_processed WHERE consumer = $1 AND processed_at < $2", consumer, before)
	return err
}
