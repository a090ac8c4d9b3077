package sqlstore

import (
	"context"
	"errors"
	"time"

	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/idempotency"
)

func (r reader) IdempotencyRecord(ctx context.Context, s idempotency.Scope, key string, since time.Time) (*idempotency.Record, error) {
	var rec idempotency.Record
	err := r.q.QueryRow(ctx, `SELECT fingerprint, response FROM idempotency_keys
		WHERE tenant_id = $1 AND caller = $2 AND idem_key = $3 AND created_at >= $4`,
		s.TenantID, s.Caller, key, since).Scan(&rec.Fingerprint, &rec.Response)
	if errors.Is(err, dbx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &rec, nil
}

func (t *tx) ClaimIdempotencyKey(ctx context.Context, s idempotency.Scope, r idempotency.Request, now, expired time.Time) (bool, error) {
	// On PostgreSQL a second transaction inserting the same key waits on
	// the first one's row and, once that commits, finds it (read committed)
	// and updates nothing; on SQLite transactions run one at a time.
	n, err := t.dtx.Exec(ctx, `INSERT INTO idempotency_keys (tenant_id, caller, idem_key, fingerprint, response, created_at)
		VALUES ($1, $2, $3, $4, NULL, $5)
		ON CONFLICT (tenant_id, caller, idem_key) DO UPDATE
			SET fingerprint = excluded.fingerprint, response = NULL, created_at = excluded.created_at
			WHERE idempotency_keys.created_at < $6`,
		s.TenantID, s.Caller, r.Key, r.Fingerprint, now, expired)
	return n == 1, err
}

func (t *tx) SaveIdempotentResponse(ctx context.Context, s idempotency.Scope, key string, response []byte) error {
	n, err := t.dtx.Exec(ctx, `UPDATE idempotency_keys SET response = $1 WHERE tenant_id = $2 AND caller = $3 AND idem_key = $4`,
		response, s.TenantID, s.Caller, key)
	if err == nil && n != 1 {
		err = errors.New("sqlstore: idempotency key " + key + " was not claimed")
	}
	return err
}

// PruneIdempotencyKeys forgets the keys stored before before.
func (s *Store) PruneIdempotencyKeys(ctx context.Context, before time.Time) (int64, error) {
	return s.db.Exec(ctx, "DELETE FROM idempotency_keys WHERE created_at < $1", before)
}
