// Package outbox is the transactional outbox every service publishes its
// events through: the event row is written in the same transaction as the
// change it describes, and a relay publishes committed rows to NATS
// JetStream with `Nats-Msg-Id` = event id, then marks them sent. A change
// therefore never commits without its event, and an event is never published
// for a change that rolled back.
//
// Delivery is at least once: a relay that dies between publishing and
// marking a row sent publishes it again on restart; JetStream drops the copy
// inside its duplicate window, and consumers (package inbox) remember the
// ids they processed. The relay also republishes, by id, what it published
// a little while ago (Relay.Reconcile), so that an event NATS acknowledged
// and then lost in a failover is published again.
package outbox

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"strings"
	"sync"

	"google.golang.org/protobuf/proto"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/dbx"
)

//go:embed migrations
var migrations embed.FS

// Migrations is the outbox's own table, per dialect; apply it with
// dbx.Migrate(ctx, db, "outbox", outbox.Migrations). fs.Sub cannot fail on
// a literal, valid path.
var Migrations, _ = fs.Sub(migrations, "migrations")

// Header names set on every published message.
const (
	// HeaderEventType carries the protobuf full name of the payload, so a
	// subscriber knows what to decode without parsing the subject.
	HeaderEventType = "Latchkey-Event-Type"
	// HeaderContentType says the payload is binary protobuf.
	HeaderContentType = "Content-Type"
	// ContentTypeProtobuf is the value of HeaderContentType.
	ContentTypeProtobuf = "application/protobuf"
)

// Outbox writes events into a service's database and wakes the relay.
type Outbox struct {
	db      dbx.DB
	clock   clock.Clock
	channel string

	mu      sync.Mutex
	waiters []chan struct{}
}

// New returns the outbox of db. channel names the PostgreSQL NOTIFY channel
// that wakes relays in other processes (use the service's name); SQLite has
// a single process, woken in memory.
func New(db dbx.DB, clk clock.Clock, channel string) *Outbox {
	return &Outbox{db: db, clock: clk, channel: "latchkey_outbox_" + channel}
}

// Write stores msg as the event id, to be published on subject, inside tx.
// It reaches NATS only if tx commits.
func (o *Outbox) Write(ctx context.Context, tx dbx.Tx, subject, id string, msg proto.Message) error {
	payload, err := proto.Marshal(msg)
	if err != nil {
		return fmt.Errorf("outbox: marshal %T: %w", msg, err)
	}
	args := []any{id, subject, string(msg.ProtoReflect().Descriptor().FullName()), payload, o.clock.Now(), traceparentOf(ctx)}
	if _, err = o.insert(ctx, tx, "($1, $2, $3, $4, $5, $6)", args); err != nil {
		return fmt.Errorf("outbox: write %s: %w", subject, err)
	}
	tx.AfterCommit(o.wake)
	return nil
}

// insert writes the rows of values (placeholders for args) and, on
// PostgreSQL, wakes the relays of other processes in the same statement:
// NOTIFY in a transaction is delivered at commit, and not at all on
// rollback. A NOTIFY of its own was a round trip per event, as many as
// the INSERTs (the e-mail path's events, issue 14). In this process the
// caller wakes the relays after commit.
func (o *Outbox) insert(ctx context.Context, tx dbx.Tx, values string, args []any) (int64, error) {
	q := "INSERT INTO outbox_events (id, subject, type, payload, created_at, traceparent) VALUES " + values
	if tx.Dialect() == dbx.Postgres {
		q = fmt.Sprintf("WITH written AS (%s RETURNING 1) SELECT pg_notify($%d, '')", q, len(args)+1)
		args = append(args, o.channel)
	}
	return tx.Exec(ctx, q, args...)
}

// Message is one event of WriteAll.
type Message struct {
	Subject string
	ID      string
	Message proto.Message
}

// writeChunk bounds the rows of one INSERT: both engines limit the
// placeholders of a statement, and SQLite looks them up in a list.
const writeChunk = 100

// WriteAll stores many events inside tx, with multi-row INSERTs and one
// wake-up: a batch job (the inactivity sweep) writes thousands at once.
func (o *Outbox) WriteAll(ctx context.Context, tx dbx.Tx, msgs []Message) error {
	if len(msgs) == 0 {
		return nil
	}
	now, traceparent := o.clock.Now(), traceparentOf(ctx)
	for start := 0; start < len(msgs); start += writeChunk {
		chunk := msgs[start:min(start+writeChunk, len(msgs))]
		var q strings.Builder
		args := make([]any, 0, 6*len(chunk))
		for i, m := range chunk {
			payload, err := proto.Marshal(m.Message)
			if err != nil {
				return fmt.Errorf("outbox: marshal %T: %w", m.Message, err)
			}
			if i > 0 {
				q.WriteString(", ")
			}
			n := len(args)
			fmt.Fprintf(&q, "($%d, $%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5, n+6)
			args = append(args, m.ID, m.Subject, string(m.Message.ProtoReflect().Descriptor().FullName()), payload, now, traceparent)
		}
		if _, err := o.insert(ctx, tx, q.String(), args); err != nil {
			return fmt.Errorf("outbox: write %d events: %w", len(chunk), err)
		}
	}
	tx.AfterCommit(o.wake)
	return nil
}

// wake tells relays in this process that a row committed.
func (o *Outbox) wake() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, w := range o.waiters {
		select {
		case w <- struct{}{}:
		default:
		}
	}
}

func (o *Outbox) subscribe() chan struct{} {
	ch := make(chan struct{}, 1)
	o.mu.Lock()
	o.waiters = append(o.waiters, ch)
	o.mu.Unlock()
	return ch
}

func (o *Outbox) unsubscribe(ch chan struct{}) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i, w := range o.waiters {
		if w == ch {
			o.waiters = append(o.waiters[:i], o.waiters[i+1:]...)
			return
		}
	}
}

// Pending counts the rows not yet published, for readiness and tests.
func (o *Outbox) Pending(ctx context.Context) (int, error) {
	var n int
	err := o.db.QueryRow(ctx, "SELECT count(*) FROM outbox_events WHERE sent_at IS NULL").Scan(&n)
	return n, err
}
