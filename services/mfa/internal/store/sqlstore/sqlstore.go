// Package sqlstore is the mfa store on PostgreSQL and SQLite (one set of
// SQL for both), with its events written through the outbox.
package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/infra"
	"github.com/latchkey/latchkey/libs/outbox"
	"github.com/latchkey/latchkey/services/mfa/internal/factor"
	"github.com/latchkey/latchkey/services/mfa/internal/store"
	"github.com/latchkey/latchkey/services/mfa/migrations"
)

// Migrate applies the outbox's, the inbox's and the service's migrations.
func Migrate(ctx context.Context, db dbx.DB) error {
	return infra.Migrate(ctx, db, infra.Service{Name: "mfa", Migrations: migrations.FS})
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
		return fn(&tx{reader: reader{q: dtx}, dtx: dtx, outbox: s.outbox})
	})
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

const factorColumns = `id, tenant_id, account_id, state, key_id, secret, last_step, failed_codes,
	created_at, confirmed_at, last_used_at`

func (r reader) Factor(ctx context.Context, tenantID, accountID string) (*factor.Factor, error) {
	f, err := scanFactor(r.q.QueryRow(ctx, "SELECT "+factorColumns+" FROM factors WHERE tenant_id = $1 AND account_id = $2",
		tenantID, accountID))
	if errors.Is(err, dbx.ErrNoRows) {
		return nil, errs.NotFound("FACTOR_NOT_FOUND", "the account has no second factor")
	}
	if err != nil {
		return nil, fmt.Errorf("read factor: %w", err)
	}
	return f, nil
}

func (r reader) UnusedRecoveryCodes(ctx context.Context, tenantID, accountID string) (int, error) {
	var n int
	err := r.q.QueryRow(ctx, "SELECT count(*) FROM recovery_codes WHERE tenant_id = $1 AND account_id = $2 AND used_at IS NULL",
		tenantID, accountID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count recovery codes: %w", err)
	}
	return n, nil
}

func (r reader) RecoveryCodeByLookup(ctx context.Context, tenantID, accountID, lookup string) (*factor.RecoveryCode, error) {
	var (
		c    factor.RecoveryCode
		used *time.Time
	)
	err := r.q.QueryRow(ctx, `SELECT id, tenant_id, account_id, lookup, hash, created_at, used_at FROM recovery_codes
		WHERE tenant_id = $1 AND account_id = $2 AND lookup = $3 AND used_at IS NULL`, tenantID, accountID, lookup).
		Scan(&c.ID, &c.TenantID, &c.AccountID, &c.Lookup, &c.Hash, &c.CreatedAt, &used)
	if errors.Is(err, dbx.ErrNoRows) {
		return nil, errs.NotFound("RECOVERY_CODE_NOT_FOUND", "no such recovery code")
	}
	if err != nil {
		return nil, fmt.Errorf("read recovery code: %w", err)
	}
	c.CreatedAt, c.UsedAt = c.CreatedAt.UTC(), utc(used)
	return &c, nil
}

func (t *tx) PutFactor(ctx context.Context, f *factor.Factor) error {
	// The DELETE waits for a concurrent confirmation of the row and then
	// spares it (PostgreSQL re-checks the condition), so the INSERT
	// below meets the confirmed factor's unique key.
	if _, err := t.dtx.Exec(ctx, "DELETE FROM factors WHERE tenant_id = $1 AND account_id = $2 AND state <> $3",
		f.TenantID, f.AccountID, string(factor.Active)); err != nil {
		return fmt.Errorf("replace factor: %w", err)
	}
	_, err := t.dtx.Exec(ctx, `INSERT INTO factors (id, tenant_id, account_id, type, state, key_id, secret, last_step,
		failed_codes, created_at, confirmed_at, last_used_at) VALUES ($1, $2, $3, 'TOTP', $4, $5, $6, $7, $8, $9, $10, $11)`,
		f.ID, f.TenantID, f.AccountID, string(f.State), f.KeyID, f.Sealed, f.LastStep, f.FailedCodes, f.CreatedAt,
		f.ConfirmedAt, f.LastUsedAt)
	if _, unique := dbx.IsUniqueViolation(err); unique {
		return store.ErrConfirmedFactor
	}
	if err != nil {
		return fmt.Errorf("insert factor: %w", err)
	}
	return nil
}

func (t *tx) AcceptStep(ctx context.Context, id string, step int64, now time.Time, maxFailed int) (bool, error) {
	n, err := t.dtx.Exec(ctx, `UPDATE factors SET last_step = $1, last_used_at = $2
		WHERE id = $3 AND last_step < $1 AND failed_codes < $4`, step, now, id, maxFailed)
	if err != nil {
		return false, fmt.Errorf("accept step: %w", err)
	}
	return n == 1, nil
}

func (t *tx) Activate(ctx context.Context, id string, now time.Time) (bool, error) {
	n, err := t.dtx.Exec(ctx, "UPDATE factors SET state = $1, confirmed_at = $2, failed_codes = 0 WHERE id = $3 AND state <> $1",
		string(factor.Active), now, id)
	if err != nil {
		return false, fmt.Errorf("activate factor: %w", err)
	}
	return n == 1, nil
}

func (t *tx) CountFailedCode(ctx context.Context, id string) (int, error) {
	var n int
	err := t.dtx.QueryRow(ctx, "UPDATE factors SET failed_codes = failed_codes + 1 WHERE id = $1 AND state <> $2 RETURNING failed_codes",
		id, string(factor.Active)).Scan(&n)
	if errors.Is(err, dbx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("count failed code: %w", err)
	}
	return n, nil
}

func (t *tx) Reseal(ctx context.Context, id, oldKeyID, keyID string, sealed []byte) (bool, error) {
	n, err := t.dtx.Exec(ctx, "UPDATE factors SET key_id = $1, secret = $2 WHERE id = $3 AND key_id = $4", keyID, sealed, id, oldKeyID)
	if err != nil {
		return false, fmt.Errorf("reseal factor: %w", err)
	}
	return n == 1, nil
}

func (t *tx) DeleteFactor(ctx context.Context, tenantID, accountID string) (*factor.Factor, error) {
	f, err := scanFactor(t.dtx.QueryRow(ctx, "DELETE FROM factors WHERE tenant_id = $1 AND account_id = $2 RETURNING "+factorColumns,
		tenantID, accountID))
	if errors.Is(err, dbx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("delete factor: %w", err)
	}
	return f, nil
}

func (t *tx) ReplaceRecoveryCodes(ctx context.Context, tenantID, accountID string, codes []*factor.RecoveryCode) error {
	if _, err := t.DeleteRecoveryCodes(ctx, tenantID, accountID); err != nil {
		return err
	}
	for _, c := range codes {
		if c.TenantID != tenantID || c.AccountID != accountID {
			return fmt.Errorf("recovery code %s is not of account %s", c.ID, accountID)
		}
		_, err := t.dtx.Exec(ctx, `INSERT INTO recovery_codes (id, tenant_id, account_id, lookup, hash, created_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, c.ID, tenantID, accountID, c.Lookup, c.Hash, c.CreatedAt)
		if err != nil {
			return fmt.Errorf("insert recovery code: %w", err)
		}
	}
	return nil
}

func (t *tx) DeleteRecoveryCodes(ctx context.Context, tenantID, accountID string) (int64, error) {
	n, err := t.dtx.Exec(ctx, "DELETE FROM recovery_codes WHERE tenant_id = $1 AND account_id = $2", tenantID, accountID)
	if err != nil {
		return 0, fmt.Errorf("delete recovery codes: %w", err)
	}
	return n, nil
}

func (t *tx) SpendRecoveryCode(ctx context.Context, id string, now time.Time) (bool, error) {
	n, err := t.dtx.Exec(ctx, "UPDATE recovery_codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL", now, id)
	if err != nil {
		return false, fmt.Errorf("spend recovery code: %w", err)
	}
	return n == 1, nil
}

// EnqueueKeyRequest implements store.Store.
func (s *Store) EnqueueKeyRequest(ctx context.Context, r *factor.KeyRequest) error {
	_, err := s.db.Exec(ctx, `INSERT INTO key_requests (id, tenant_code, login, created_at, due_at) VALUES ($1, $2, $3, $4, $4)`,
		r.ID, r.TenantCode, r.Login, r.CreatedAt)
	if err != nil {
		// A request the database may or may not have stored when the
		// connection broke is told to try again: a second request is what
		// a user asking twice makes, one more e-mail at most.
		return fmt.Errorf("enqueue key request: %w", dbx.Repeatable(err))
	}
	return nil
}

// ClaimKeyRequests implements store.Store.
func (s *Store) ClaimKeyRequests(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*factor.KeyRequest, error) {
	lock := ""
	if s.db.Dialect() == dbx.Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	rows, err := s.db.Query(ctx, `UPDATE key_requests SET due_at = $1, attempts = attempts + 1
		WHERE id IN (SELECT id FROM key_requests WHERE due_at <= $2 ORDER BY due_at LIMIT $3`+lock+`)
		RETURNING id, tenant_code, login, created_at, attempts`, now.Add(lease), now, limit)
	if err != nil {
		return nil, fmt.Errorf("claim key requests: %w", err)
	}
	defer rows.Close()
	var out []*factor.KeyRequest
	for rows.Next() {
		var r factor.KeyRequest
		if err := rows.Scan(&r.ID, &r.TenantCode, &r.Login, &r.CreatedAt, &r.Attempts); err != nil {
			return nil, fmt.Errorf("claim key requests: %w", err)
		}
		r.CreatedAt = r.CreatedAt.UTC()
		out = append(out, &r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim key requests: %w", err)
	}
	return out, nil
}

// DeleteKeyRequest implements store.Store.
func (s *Store) DeleteKeyRequest(ctx context.Context, id string) error {
	if _, err := s.db.Exec(ctx, "DELETE FROM key_requests WHERE id = $1", id); err != nil {
		return fmt.Errorf("delete key request: %w", err)
	}
	return nil
}

func scanFactor(row dbx.Row) (*factor.Factor, error) {
	var (
		f               factor.Factor
		state           string
		confirmed, used *time.Time
	)
	if err := row.Scan(&f.ID, &f.TenantID, &f.AccountID, &state, &f.KeyID, &f.Sealed, &f.LastStep, &f.FailedCodes,
		&f.CreatedAt, &confirmed, &used); err != nil {
		return nil, err
	}
	f.State = factor.State(state)
	f.CreatedAt, f.ConfirmedAt, f.LastUsedAt = f.CreatedAt.UTC(), utc(confirmed), utc(used)
	return &f, nil
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
