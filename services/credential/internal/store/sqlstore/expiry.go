package sqlstore

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/services/credential/internal/credential"
)

// TryExclusive takes the named lock shared by every replica over the
// database (dbx.Exclusive).
func (s *Store) TryExclusive(ctx context.Context, name string) (func(), bool, error) {
	return s.excl.Try(ctx, s.db, name)
}

func (t reader) PasswordTenants(ctx context.Context, after string, limit int) ([]string, error) {
	q, args := `SELECT DISTINCT tenant_id FROM passwords ORDER BY tenant_id LIMIT $1`, []any{limit}
	if after != "" {
		q, args = `SELECT DISTINCT tenant_id FROM passwords WHERE tenant_id > $2 ORDER BY tenant_id LIMIT $1`, []any{limit, after}
	}
	rows, err := t.q.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

func (t *tx) ClaimExpiryWarnings(ctx context.Context, tenantID string, maxAgeDays int, changedAfter, changedUpTo, now time.Time,
	limit int) ([]credential.ExpiryWarning, error) {
	rows, err := t.q.Query(ctx, `SELECT p.account_id, p.changed_at FROM passwords p
		LEFT JOIN password_expiry_warnings w ON w.tenant_id = p.tenant_id AND w.account_id = p.account_id
		WHERE p.tenant_id = $1 AND p.temporary = FALSE AND p.changed_at > $2 AND p.changed_at <= $3
			AND (w.account_id IS NULL OR w.password_changed_at <> p.changed_at OR w.max_age_days <> $4)
		ORDER BY p.account_id LIMIT $5`, tenantID, changedAfter, changedUpTo, maxAgeDays, limit)
	if err != nil {
		return nil, err
	}
	type due struct {
		accountID string
		changedAt time.Time
	}
	var found []due
	for rows.Next() {
		var d due
		if err := rows.Scan(&d.accountID, &d.changedAt); err != nil {
			rows.Close()
			return nil, err
		}
		found = append(found, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]credential.ExpiryWarning, 0, len(found))
	for _, d := range found {
		if _, err := t.q.Exec(ctx, `INSERT INTO password_expiry_warnings (tenant_id, account_id, password_changed_at, max_age_days, warned_at)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (tenant_id, account_id) DO UPDATE SET password_changed_at = excluded.password_changed_at,
				max_age_days = excluded.max_age_days, warned_at = excluded.warned_at`,
			tenantID, d.accountID, d.changedAt, maxAgeDays, now); err != nil {
			return nil, err
		}
		out = append(out, credential.ExpiryWarning{AccountID: d.accountID, ExpiresAt: credential.ExpiresAt(d.changedAt.UTC(), maxAgeDays)})
	}
	return out, nil
}
