// Package sqlstore is the recovery store on PostgreSQL and SQLite (one set
// of SQL for both), with its events written through the outbox.
package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/infra"
	"github.com/latchkey/latchkey/libs/outbox"
	"github.com/latchkey/latchkey/services/recovery/internal/recovery"
	"github.com/latchkey/latchkey/services/recovery/internal/store"
	"github.com/latchkey/latchkey/services/recovery/migrations"
)

// Migrate applies the outbox's, the inbox's and the service's migrations.
func Migrate(ctx context.Context, db dbx.DB) error {
	return infra.Migrate(ctx, db, infra.Service{Name: "recovery", Migrations: migrations.FS})
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
	return s.db.InTx(ctx, func(dtx dbx.Tx) error { return fn(s.Bind(dtx)) })
}

// Bind is the store's transaction over dtx, a transaction someone else
// opened: the inbox, which records the event id in the same transaction
// as the change the event calls for.
func (s *Store) Bind(dtx dbx.Tx) store.Tx {
	return &tx{reader: reader{q: dtx}, dtx: dtx, outbox: s.outbox}
}

type reader struct{ q dbx.Querier }

type tx struct {
	reader
	dtx    dbx.Tx
	outbox *outbox.Outbox
}

func (t *tx) Emit(ctx context.Context, ev store.Event) error {
	return t.outbox.Write(ctx, t.dtx, ev.Subject, ev.ID, ev.Message)
}

func (t *tx) AfterCommit(fn func()) { t.dtx.AfterCommit(fn) }

const tokenColumns = "hash, tenant_id, account_id, kind, request_id, by_admin, failed_tries, created_at, expires_at, used_at, voided_at"

func scanToken(row dbx.Row) (*recovery.LinkToken, error) {
	var (
		t          recovery.LinkToken
		hash       []byte
		kind       string
		used, void *time.Time
	)
	err := row.Scan(&hash, &t.TenantID, &t.AccountID, &kind, &t.RequestID, &t.ByAdmin, &t.FailedTries, &t.CreatedAt, &t.ExpiresAt, &used, &void)
	if errors.Is(err, dbx.ErrNoRows) {
		return nil, errs.NotFound(recovery.ReasonLinkTokenInvalid, "no such link token")
	}
	if err != nil {
		return nil, err
	}
	copy(t.Hash[:], hash)
	t.Kind = recovery.Kind(kind)
	t.CreatedAt, t.ExpiresAt, t.UsedAt, t.VoidedAt = t.CreatedAt.UTC(), t.ExpiresAt.UTC(), utc(used), utc(void)
	return &t, nil
}

func (r reader) LinkToken(ctx context.Context, h recovery.Hash) (*recovery.LinkToken, error) {
	return scanToken(r.q.QueryRow(ctx, "SELECT "+tokenColumns+" FROM link_tokens WHERE hash = $1", h[:]))
}

func (r reader) Questions(ctx context.Context, tenantID, accountID string) ([]recovery.Question, error) {
	rows, err := r.q.Query(ctx, `SELECT question, answer_hash FROM security_questions
		WHERE tenant_id = $1 AND account_id = $2 ORDER BY position`, tenantID, accountID)
	if err != nil {
		return nil, fmt.Errorf("read security questions: %w", err)
	}
	defer rows.Close()
	var qs []recovery.Question
	for rows.Next() {
		var q recovery.Question
		if err := rows.Scan(&q.Question, &q.AnswerHash); err != nil {
			return nil, err
		}
		qs = append(qs, q)
	}
	return qs, rows.Err()
}

func (r reader) EmailVerified(ctx context.Context, tenantID, accountID string) (bool, error) {
	var at *time.Time
	err := r.q.QueryRow(ctx, `SELECT email_verified_at FROM recovery_accounts WHERE tenant_id = $1 AND account_id = $2`,
		tenantID, accountID).Scan(&at)
	if errors.Is(err, dbx.ErrNoRows) {
		return false, nil
	}
	return at != nil, err
}

// IssueLinkToken implements store.Tx. On PostgreSQL it is one statement
// (this is the step every invitation and reset e-mail takes, and a round
// trip each was most of the path's cost): the insert, skipped when the
// request id has issued a token already, and the voids, only when the
// insert happened; they all see the database as it was before it, so the
// new token is not voided with the others.
func (t *tx) IssueLinkToken(ctx context.Context, lt *recovery.LinkToken) (*recovery.LinkToken, bool, error) {
	if t.dtx.Dialect() != dbx.Postgres {
		return t.issueLinkTokenInSteps(ctx, lt)
	}
	var n int
	err := t.dtx.QueryRow(ctx, `WITH issued AS (
			INSERT INTO link_tokens (hash, tenant_id, account_id, kind, request_id, by_admin, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (kind, request_id) WHERE request_id <> '' DO NOTHING
			RETURNING 1),
		voided AS (
			UPDATE link_tokens SET voided_at = $7
			WHERE EXISTS (SELECT FROM issued) AND tenant_id = $2 AND account_id = $3 AND kind = $4
				AND created_at <= $7 AND used_at IS NULL AND voided_at IS NULL),
		tickets AS (
			UPDATE reset_tickets SET voided_at = $7
			WHERE EXISTS (SELECT FROM issued) AND tenant_id = $2 AND account_id = $3
				AND created_at <= $7 AND used_at IS NULL AND voided_at IS NULL)
		SELECT count(*) FROM issued`,
		lt.Hash[:], lt.TenantID, lt.AccountID, string(lt.Kind), lt.RequestID, lt.ByAdmin, lt.CreatedAt, lt.ExpiresAt).Scan(&n)
	if err != nil {
		return nil, false, fmt.Errorf("issue link token: %w", err)
	}
	if n == 1 {
		return lt, true, nil
	}
	earlier, err := t.linkTokenByRequest(ctx, lt.Kind, lt.RequestID)
	return earlier, false, err
}

// issueLinkTokenInSteps is IssueLinkToken on SQLite, whose statements are
// calls within the process and whose writers take turns.
func (t *tx) issueLinkTokenInSteps(ctx context.Context, lt *recovery.LinkToken) (*recovery.LinkToken, bool, error) {
	if lt.RequestID != "" {
		earlier, err := t.linkTokenByRequest(ctx, lt.Kind, lt.RequestID)
		if err == nil || !errs.Is(err, errs.KindNotFound) {
			return earlier, false, err
		}
	}
	if _, err := t.VoidLinkTokens(ctx, lt.TenantID, lt.AccountID, lt.Kind, lt.CreatedAt, lt.CreatedAt); err != nil {
		return nil, false, err
	}
	_, err := t.dtx.Exec(ctx, `INSERT INTO link_tokens (hash, tenant_id, account_id, kind, request_id, by_admin, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		lt.Hash[:], lt.TenantID, lt.AccountID, string(lt.Kind), lt.RequestID, lt.ByAdmin, lt.CreatedAt, lt.ExpiresAt)
	if err != nil {
		return nil, false, fmt.Errorf("insert link token: %w", err)
	}
	return lt, true, nil
}

func (t *tx) linkTokenByRequest(ctx context.Context, kind recovery.Kind, requestID string) (*recovery.LinkToken, error) {
	return scanToken(t.dtx.QueryRow(ctx, "SELECT "+tokenColumns+" FROM link_tokens WHERE kind = $1 AND request_id = $2 AND request_id <> ''",
		string(kind), requestID))
}

func (t *tx) ConsumeLinkToken(ctx context.Context, h recovery.Hash, kind recovery.Kind, now time.Time) (*recovery.LinkToken, error) {
	return scanToken(t.dtx.QueryRow(ctx, `UPDATE link_tokens SET used_at = $1
		WHERE hash = $2 AND kind = $3 AND used_at IS NULL AND voided_at IS NULL AND expires_at > $1
		RETURNING `+tokenColumns, now, h[:], string(kind)))
}

func (t *tx) RestoreLinkToken(ctx context.Context, h recovery.Hash) error {
	_, err := t.dtx.Exec(ctx, `UPDATE link_tokens SET used_at = NULL WHERE hash = $1 AND voided_at IS NULL`, h[:])
	return err
}

func (t *tx) CountFailedTry(ctx context.Context, h recovery.Hash, now time.Time, limit int) (int, error) {
	var n int
	err := t.dtx.QueryRow(ctx, `UPDATE link_tokens SET failed_tries = failed_tries + 1,
			voided_at = CASE WHEN failed_tries + 1 >= $3 THEN $2 ELSE voided_at END
		WHERE hash = $1 AND used_at IS NULL AND voided_at IS NULL
		RETURNING failed_tries`, h[:], now, limit).Scan(&n)
	if errors.Is(err, dbx.ErrNoRows) {
		return limit, nil // already void: as good as at the limit
	}
	if err == nil && n >= limit {
		_, err = t.dtx.Exec(ctx, `UPDATE reset_tickets SET voided_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND voided_at IS NULL`, now, h[:])
	}
	return n, err
}

func (t *tx) VoidLinkTokens(ctx context.Context, tenantID, accountID string, kind recovery.Kind, before, now time.Time) (int, error) {
	args := []any{now, tenantID, accountID, before}
	cond := ""
	if kind != "" {
		cond = " AND kind = $5"
		args = append(args, string(kind))
	}
	rows, err := t.dtx.Query(ctx, `UPDATE link_tokens SET voided_at = $1
		WHERE tenant_id = $2 AND account_id = $3 AND created_at <= $4 AND used_at IS NULL AND voided_at IS NULL`+cond+`
		RETURNING hash`, args...)
	if err != nil {
		return 0, fmt.Errorf("void link tokens: %w", err)
	}
	var hashes [][]byte
	for rows.Next() {
		var h []byte
		if err := rows.Scan(&h); err != nil {
			rows.Close()
			return 0, err
		}
		hashes = append(hashes, h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	// Tickets of any token of the account issued before: a ticket is as
	// good as its token.
	_, err = t.dtx.Exec(ctx, `UPDATE reset_tickets SET voided_at = $1
		WHERE tenant_id = $2 AND account_id = $3 AND created_at <= $4 AND used_at IS NULL AND voided_at IS NULL`,
		now, tenantID, accountID, before)
	return len(hashes), err
}

const ticketColumns = "hash, token_hash, tenant_id, account_id, verified_with, created_at, expires_at, used_at"

func scanTicket(row dbx.Row) (*recovery.Ticket, error) {
	var (
		k           recovery.Ticket
		hash, token []byte
		with        string
		used        *time.Time
	)
	err := row.Scan(&hash, &token, &k.TenantID, &k.AccountID, &with, &k.CreatedAt, &k.ExpiresAt, &used)
	if errors.Is(err, dbx.ErrNoRows) {
		return nil, errs.NotFound(recovery.ReasonResetTicketInvalid, "no such reset ticket")
	}
	if err != nil {
		return nil, err
	}
	copy(k.Hash[:], hash)
	copy(k.TokenHash[:], token)
	if with != "" {
		k.VerifiedWith = strings.Split(with, ",")
	}
	k.CreatedAt, k.ExpiresAt, k.UsedAt = k.CreatedAt.UTC(), k.ExpiresAt.UTC(), utc(used)
	return &k, nil
}

func (t *tx) InsertTicket(ctx context.Context, k *recovery.Ticket) error {
	if _, err := t.dtx.Exec(ctx, `UPDATE reset_tickets SET voided_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND voided_at IS NULL`,
		k.CreatedAt, k.TokenHash[:]); err != nil {
		return fmt.Errorf("void older tickets: %w", err)
	}
	_, err := t.dtx.Exec(ctx, `INSERT INTO reset_tickets (hash, token_hash, tenant_id, account_id, verified_with, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		k.Hash[:], k.TokenHash[:], k.TenantID, k.AccountID, strings.Join(k.VerifiedWith, ","), k.CreatedAt, k.ExpiresAt)
	if err != nil {
		return fmt.Errorf("insert reset ticket: %w", err)
	}
	return nil
}

func (t *tx) ConsumeTicket(ctx context.Context, h recovery.Hash, now time.Time) (*recovery.Ticket, error) {
	return scanTicket(t.dtx.QueryRow(ctx, `UPDATE reset_tickets SET used_at = $1
		WHERE hash = $2 AND used_at IS NULL AND voided_at IS NULL AND expires_at > $1
		RETURNING `+ticketColumns, now, h[:]))
}

func (t *tx) RestoreTicket(ctx context.Context, h recovery.Hash) error {
	_, err := t.dtx.Exec(ctx, `UPDATE reset_tickets SET used_at = NULL WHERE hash = $1 AND voided_at IS NULL`, h[:])
	return err
}

func (t *tx) ReplaceQuestions(ctx context.Context, tenantID, accountID string, qs []recovery.Question, now time.Time) error {
	if _, err := t.dtx.Exec(ctx, `DELETE FROM security_questions WHERE tenant_id = $1 AND account_id = $2`, tenantID, accountID); err != nil {
		return fmt.Errorf("delete security questions: %w", err)
	}
	for i, q := range qs {
		if _, err := t.dtx.Exec(ctx, `INSERT INTO security_questions (tenant_id, account_id, position, question, answer_hash, created_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, tenantID, accountID, i, q.Question, q.AnswerHash, now); err != nil {
			return fmt.Errorf("insert security question: %w", err)
		}
	}
	return nil
}

func (t *tx) MarkEmailVerified(ctx context.Context, tenantID, accountID string, now time.Time) error {
	_, err := t.dtx.Exec(ctx, `INSERT INTO recovery_accounts (tenant_id, account_id, email_verified_at) VALUES ($1, $2, $3)
		ON CONFLICT (tenant_id, account_id) DO UPDATE SET email_verified_at = excluded.email_verified_at`, tenantID, accountID, now)
	return err
}

func (t *tx) ForgetEmailVerified(ctx context.Context, tenantID, accountID string, changedAt time.Time) error {
	_, err := t.dtx.Exec(ctx, `UPDATE recovery_accounts SET email_verified_at = NULL
		WHERE tenant_id = $1 AND account_id = $2 AND email_verified_at <= $3`, tenantID, accountID, changedAt)
	return err
}

func (t *tx) DeleteRequest(ctx context.Context, id string) error {
	_, err := t.dtx.Exec(ctx, `DELETE FROM reset_requests WHERE id = $1`, id)
	return err
}

// Enqueue implements store.Store.
func (s *Store) Enqueue(ctx context.Context, r *recovery.ResetRequest) error {
	_, err := s.db.Exec(ctx, `INSERT INTO reset_requests (id, tenant_code, login, kind, created_at) VALUES ($1, $2, $3, $4, $5)`,
		r.ID, r.TenantCode, r.Login, string(r.Kind), r.CreatedAt)
	if err != nil {
		// A request the database may or may not have stored when the
		// connection broke is told to try again: a second request is what
		// a user asking twice makes, one more e-mail at most (the fault
		// test's PostgreSQL restart saw a 500 here).
		return fmt.Errorf("enqueue reset request: %w", dbx.Repeatable(err))
	}
	return nil
}

// Claim implements store.Store.
func (s *Store) Claim(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*recovery.ResetRequest, error) {
	lock := ""
	if s.db.Dialect() == dbx.Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	rows, err := s.db.Query(ctx, `UPDATE reset_requests SET lease_until = $1, attempts = attempts + 1
		WHERE id IN (SELECT id FROM reset_requests WHERE lease_until IS NULL OR lease_until < $2
			ORDER BY created_at LIMIT $3`+lock+`)
		RETURNING id, tenant_code, login, kind, created_at, attempts`, now.Add(lease), now, limit)
	if err != nil {
		return nil, fmt.Errorf("claim reset requests: %w", err)
	}
	defer rows.Close()
	var out []*recovery.ResetRequest
	for rows.Next() {
		var r recovery.ResetRequest
		var kind string
		if err := rows.Scan(&r.ID, &r.TenantCode, &r.Login, &kind, &r.CreatedAt, &r.Attempts); err != nil {
			return nil, err
		}
		r.Kind, r.CreatedAt = recovery.Kind(kind), r.CreatedAt.UTC()
		out = append(out, &r)
	}
	return out, rows.Err()
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
