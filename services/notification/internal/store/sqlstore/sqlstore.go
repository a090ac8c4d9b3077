// Package sqlstore is the notification store on PostgreSQL and SQLite (one
// set of SQL for both), with its events written through the outbox.
package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"
	"time"

	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/infra"
	"github.com/latchkey/latchkey/libs/outbox"
	"github.com/latchkey/latchkey/services/notification/internal/delivery"
	"github.com/latchkey/latchkey/services/notification/internal/store"
	"github.com/latchkey/latchkey/services/notification/migrations"
)

// Migrate applies the outbox's, the inbox's and the service's migrations.
func Migrate(ctx context.Context, db dbx.DB) error {
	return infra.Migrate(ctx, db, infra.Service{Name: "notification", Migrations: migrations.FS})
}

// Store implements store.Store.
type Store struct {
	db     dbx.DB
	outbox *outbox.Outbox
	reader
}

var _ store.Store = (*Store)(nil)

// New returns the store of db, writing events to box.
func New(db dbx.DB, box *outbox.Outbox) *Store {
	return &Store{db: db, outbox: box, reader: reader{q: db}}
}

// InTx implements store.Store.
func (s *Store) InTx(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.db.InTx(ctx, func(dtx dbx.Tx) error {
		return fn(s.Bind(dtx))
	})
}

// Bind is the store's transaction over dtx, a transaction someone else
// opened: the inbox, which records the message id in the same transaction
// as the delivery the message asks for.
func (s *Store) Bind(dtx dbx.Tx) store.Tx {
	return &tx{reader: reader{q: dtx}, dtx: dtx, outbox: s.outbox}
}

// reader holds the queries, run on the database or in a transaction.
type reader struct {
	q dbx.Querier
}

// tx is a transaction of the store.
type tx struct {
	reader
	dtx    dbx.Tx
	outbox *outbox.Outbox
}

func (t *tx) Emit(ctx context.Context, ev store.Event) error {
	return t.outbox.Write(ctx, t.dtx, ev.Subject, ev.ID, ev.Message)
}

func (t *tx) AfterCommit(fn func()) { t.dtx.AfterCommit(fn) }

const columns = `id, request_id, tenant_id, account_id, template, recipient_address, recipient_name, locale,
	variables, status, attempts, last_error, created_at, updated_at, sent_at, next_attempt_at, admitted_at`

func (t *tx) Insert(ctx context.Context, d *delivery.Delivery) (*delivery.Delivery, bool, error) {
	vars, err := json.Marshal(d.Variables)
	if err != nil {
		return nil, false, err
	}
	// Stored at the precision both engines keep, so that the delivery
	// returned for a new row is what a read gives back, without the read.
	created := d.CreatedAt.UTC().Truncate(time.Microsecond)
	n, err := t.dtx.Exec(ctx, `INSERT INTO deliveries (id, request_id, tenant_id, account_id, template, recipient_address,
		recipient_name, locale, variables, status, created_at, updated_at, next_attempt_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $11)
		ON CONFLICT (request_id) DO NOTHING`,
		d.ID, d.RequestID, d.TenantID, d.AccountID, string(d.Template), d.RecipientAddress, d.RecipientName,
		d.Locale, string(vars), string(delivery.Queued), created)
	if err != nil {
		return nil, false, fmt.Errorf("insert delivery: %w", err)
	}
	if n == 1 {
		got := *d
		got.Status, got.Attempts, got.LastError = delivery.Queued, 0, ""
		got.CreatedAt, got.UpdatedAt, got.NextAttemptAt = created, created, &created
		got.SentAt, got.AdmittedAt, got.Variables = nil, nil, maps.Clone(d.Variables)
		return &got, true, nil
	}
	got, err := scan(t.dtx.QueryRow(ctx, "SELECT "+columns+" FROM deliveries WHERE request_id = $1", d.RequestID))
	if err != nil {
		return nil, false, fmt.Errorf("read delivery: %w", err)
	}
	return got, false, nil
}

func (r reader) Get(ctx context.Context, id string) (*delivery.Delivery, error) {
	d, err := scan(r.q.QueryRow(ctx, "SELECT "+columns+" FROM deliveries WHERE id = $1", id))
	if errors.Is(err, dbx.ErrNoRows) {
		return nil, errs.NotFound("DELIVERY_NOT_FOUND", "no such delivery")
	}
	return d, err
}

// Claim implements store.Store.
func (s *Store) Claim(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*delivery.Delivery, error) {
	lock := ""
	if s.db.Dialect() == dbx.Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	// Each state is looked up on its own, in the order of the status
	// index and at most limit rows: a single query over all three had to
	// read (and sort) the whole backlog of waiting deliveries at every
	// claim. Queued deliveries are due at their creation, so the oldest
	// come first.
	rows, err := s.db.Query(ctx, `WITH
		queued AS (SELECT id, created_at FROM deliveries WHERE status = $4 AND next_attempt_at <= $3
			ORDER BY next_attempt_at LIMIT $6`+lock+`),
		retrying AS (SELECT id, created_at FROM deliveries WHERE status = $5 AND next_attempt_at <= $3
			ORDER BY next_attempt_at LIMIT $6`+lock+`),
		expired AS (SELECT id, created_at FROM deliveries WHERE status = $1 AND lease_until < $3
			LIMIT $6`+lock+`)
		UPDATE deliveries SET status = $1, lease_until = $2, attempts = attempts + 1,
		updated_at = $3, next_attempt_at = NULL
		WHERE id IN (SELECT id FROM (SELECT id, created_at FROM queued UNION ALL SELECT id, created_at FROM retrying
			UNION ALL SELECT id, created_at FROM expired) due ORDER BY created_at LIMIT $6)
		RETURNING `+columns,
		string(delivery.Sending), now.Add(lease), now, string(delivery.Queued), string(delivery.Retrying), limit)
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	defer rows.Close()
	var out []*delivery.Delivery
	for rows.Next() {
		d, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("claim deliveries: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, nil
}

func (t *tx) Admit(ctx context.Context, d *delivery.Delivery, address string, now time.Time, l store.Limits) (bool, error) {
	if d.AdmittedAt != nil {
		return true, nil
	}
	key := strings.ToLower(address)
	if t.dtx.Dialect() == dbx.Postgres {
		// Serialise admissions per tenant so that replicas cannot both
		// pass the same last free slot.
		if _, err := t.dtx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('latchkey_notify_' || $1))", d.TenantID); err != nil {
			return false, err
		}
	}
	since := now.Add(-l.Window)
	over := ""
	if l.Window > 0 && l.PerRecipient > 0 {
		var n int
		if err := t.dtx.QueryRow(ctx, "SELECT count(*) FROM deliveries WHERE rate_key = $1 AND admitted_at > $2",
			key, since).Scan(&n); err != nil {
			return false, err
		}
		if n >= l.PerRecipient {
			over = fmt.Sprintf("rate limited: %d e-mails to this recipient within %s", n, l.Window)
		}
	}
	if over == "" && l.Window > 0 && l.PerTenant > 0 {
		var n int
		if err := t.dtx.QueryRow(ctx, "SELECT count(*) FROM deliveries WHERE tenant_id = $1 AND admitted_at > $2",
			d.TenantID, since).Scan(&n); err != nil {
			return false, err
		}
		if n >= l.PerTenant {
			over = fmt.Sprintf("rate limited: %d e-mails of this tenant within %s", n, l.Window)
		}
	}
	if over != "" {
		n, err := t.dtx.Exec(ctx, `UPDATE deliveries SET status = $1, last_error = $2, recipient_address = $3,
			variables = NULL, lease_until = NULL, updated_at = $4 WHERE id = $5 AND status = $6 AND attempts = $7`,
			string(delivery.RateLimited), over, address, now, d.ID, string(delivery.Sending), d.Attempts)
		if err != nil || n == 0 {
			return false, err
		}
		d.Status, d.LastError, d.RecipientAddress, d.Variables, d.UpdatedAt = delivery.RateLimited, over, address, nil, now
		return false, nil
	}
	n, err := t.dtx.Exec(ctx, `UPDATE deliveries SET rate_key = $1, admitted_at = $2, recipient_address = $3
		WHERE id = $4 AND status = $5 AND attempts = $6`,
		key, now, address, d.ID, string(delivery.Sending), d.Attempts)
	if err != nil || n == 0 {
		return false, err
	}
	d.AdmittedAt, d.RecipientAddress = &now, address
	return true, nil
}

func (t *tx) Finish(ctx context.Context, d *delivery.Delivery, r store.Result, now time.Time) (bool, error) {
	// An admission Admit did not store (no limits to apply) is stored
	// here; one it stored is written again unchanged.
	var (
		admitted *time.Time
		key      string
	)
	if d.AdmittedAt != nil {
		admitted, key = d.AdmittedAt, strings.ToLower(d.RecipientAddress)
	}
	const admission = `recipient_address = $8, rate_key = CASE WHEN admitted_at IS NULL THEN $9 ELSE rate_key END,
		admitted_at = COALESCE(admitted_at, $10)`
	var (
		n   int64
		err error
	)
	switch r.Status {
	case delivery.Retrying:
		n, err = t.dtx.Exec(ctx, `UPDATE deliveries SET status = $1, last_error = $2, next_attempt_at = $3,
			lease_until = NULL, updated_at = $4, `+admission+` WHERE id = $5 AND status = $6 AND attempts = $7`,
			string(r.Status), r.Error, r.NextAttemptAt, now, d.ID, string(delivery.Sending), d.Attempts,
			d.RecipientAddress, key, admitted)
	case delivery.Sent, delivery.Failed:
		var sentAt *time.Time
		if r.Status == delivery.Sent {
			sentAt = &now
		}
		n, err = t.dtx.Exec(ctx, `UPDATE deliveries SET status = $1, last_error = $2, sent_at = $3, variables = NULL,
			lease_until = NULL, updated_at = $4, `+admission+` WHERE id = $5 AND status = $6 AND attempts = $7`,
			string(r.Status), r.Error, sentAt, now, d.ID, string(delivery.Sending), d.Attempts,
			d.RecipientAddress, key, admitted)
	default:
		return false, fmt.Errorf("finish: unexpected status %s", r.Status)
	}
	if err != nil || n == 0 {
		return false, err
	}
	d.Status, d.LastError, d.UpdatedAt = r.Status, r.Error, now
	switch r.Status {
	case delivery.Retrying:
		d.NextAttemptAt = &r.NextAttemptAt
	case delivery.Sent:
		d.SentAt, d.Variables = &now, nil
	case delivery.Failed:
		d.Variables = nil
	}
	return true, nil
}

// Prune implements store.Store.
func (s *Store) Prune(ctx context.Context, before time.Time) (int64, error) {
	return s.db.Exec(ctx, "DELETE FROM deliveries WHERE status IN ($1, $2, $3) AND updated_at < $4",
		string(delivery.Sent), string(delivery.Failed), string(delivery.RateLimited), before)
}

// Counts implements store.Store.
func (s *Store) Counts(ctx context.Context) (map[delivery.Status]int, error) {
	rows, err := s.db.Query(ctx, "SELECT status, count(*) FROM deliveries GROUP BY status")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[delivery.Status]int{}
	for rows.Next() {
		var (
			st string
			n  int
		)
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[delivery.Status(st)] = n
	}
	return out, rows.Err()
}

func scan(row dbx.Row) (*delivery.Delivery, error) {
	var (
		d              delivery.Delivery
		tmpl, st       string
		vars           *string
		sent, next, ad *time.Time
	)
	if err := row.Scan(&d.ID, &d.RequestID, &d.TenantID, &d.AccountID, &tmpl, &d.RecipientAddress, &d.RecipientName,
		&d.Locale, &vars, &st, &d.Attempts, &d.LastError, &d.CreatedAt, &d.UpdatedAt, &sent, &next, &ad); err != nil {
		return nil, err
	}
	d.Template, d.Status = delivery.Template(tmpl), delivery.Status(st)
	if vars != nil && *vars != "null" {
		if err := json.Unmarshal([]byte(*vars), &d.Variables); err != nil {
			return nil, fmt.Errorf("delivery %s: variables: %w", d.ID, err)
		}
	}
	d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	d.SentAt, d.NextAttemptAt, d.AdmittedAt = utc(sent), utc(next), utc(ad)
	return &d, nil
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
