package sqlstore

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/services/account/internal/account"
)

func (r reader) CountAdmins(ctx context.Context, tenantID string) (int, error) {
	var n int
	err := r.q.QueryRow(ctx, `SELECT COUNT(*) FROM accounts
		WHERE tenant_id = $1 AND (',' || roles || ',') LIKE $2 AND status <> $3`,
		tenantID, "%,"+string(account.RoleAdmin)+",%", string(account.StatusDisabled)).Scan(&n)
	return n, err
}

func (r reader) UsernameHeld(ctx context.Context, tenantID, username, accountID string, since time.Time) (bool, error) {
	var n int
	err := r.q.QueryRow(ctx, `SELECT COUNT(*) FROM released_usernames
		WHERE tenant_id = $1 AND username_folded = $2 AND account_id <> $3 AND released_at >= $4`,
		tenantID, account.FoldUsername(username), nullableID(accountID), since).Scan(&n)
	return n > 0, err
}

// nullableID stands in for "no account" in comparisons with a UUID column:
// PostgreSQL refuses "" as a UUID, and no account has the nil UUID.
func nullableID(id string) string {
	if id == "" {
		return "00000000-0000-0000-0000-000000000000"
	}
	return id
}

func (r reader) GetTerms(ctx context.Context, tenantID, version string) (*account.Terms, error) {
	tm := account.Terms{TenantID: tenantID}
	err := r.q.QueryRow(ctx, "SELECT version, text, published_at FROM terms WHERE tenant_id = $1 AND version = $2",
		tenantID, version).Scan(&tm.Version, &tm.Text, &tm.PublishedAt)
	if errors.Is(err, dbx.ErrNoRows) {
		return nil, errs.NotFound("TERMS_NOT_FOUND", "no such terms version")
	}
	if err != nil {
		return nil, err
	}
	tm.PublishedAt = tm.PublishedAt.UTC()
	return &tm, nil
}

// GetAccount in a transaction locks the row on PostgreSQL until the
// transaction ends: the use cases read, decide and write the whole
// account, and a concurrent change (an admin's, the sweep's) must not be
// overwritten by a decision taken on what it replaced.
func (t *tx) GetAccount(ctx context.Context, tenantID, id string) (*account.Account, error) {
	q := "SELECT " + accountColumns + " FROM accounts WHERE tenant_id = $1 AND id = $2"
	if t.dtx.Dialect() == dbx.Postgres {
		q += " FOR UPDATE"
	}
	return t.oneAccount(ctx, q, tenantID, id)
}

func (t *tx) LockTenantRow(ctx context.Context, tenantID string) error {
	n, err := t.dtx.Exec(ctx, "UPDATE tenants SET id = id WHERE id = $1", tenantID)
	if err != nil {
		return err
	}
	if n == 0 {
		return errTenantNotFound()
	}
	return nil
}

func (t *tx) ReleaseUsername(ctx context.Context, tenantID, accountID, username string, at time.Time) error {
	_, err := t.dtx.Exec(ctx, `INSERT INTO released_usernames (tenant_id, username_folded, account_id, released_at, login_key_version)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (tenant_id, username_folded) DO UPDATE SET account_id = excluded.account_id, released_at = excluded.released_at,
			login_key_version = excluded.login_key_version`,
		tenantID, account.FoldUsername(username), accountID, at, loginKeyVersion)
	return err
}

func (t *tx) RecordLogin(ctx context.Context, tenantID, accountID string, at time.Time) (bool, error) {
	n, err := t.dtx.Exec(ctx, `UPDATE accounts SET last_login_at = $1
		WHERE tenant_id = $2 AND id = $3 AND (last_login_at IS NULL OR last_login_at < $1)`, at, tenantID, accountID)
	return n > 0, err
}

// inactiveSince is the SQL form of account.LastActivity() < cutoff ($2).
const inactiveSince = `COALESCE(last_login_at, activated_at, created_at) < $2 AND (fresh_start_at IS NULL OR fresh_start_at < $2)`

func (t *tx) LockInactive(ctx context.Context, tenantID string, cutoff time.Time, after string, limit int, at time.Time) ([]*account.Account, string, error) {
	skipLocked := ""
	if t.dtx.Dialect() == dbx.Postgres {
		// Another replica's batch (or an admin's change in progress) keeps
		// its rows; this sweep moves on and the next one sees them.
		skipLocked = " FOR UPDATE SKIP LOCKED"
	}
	rows, err := t.dtx.Query(ctx, `SELECT id FROM accounts
		WHERE tenant_id = $1 AND status = $3 AND id > $4 AND `+inactiveSince+`
		ORDER BY id LIMIT $5`+skipLocked,
		tenantID, cutoff, string(account.StatusActive), nullableID(after), limit)
	if err != nil {
		return nil, "", err
	}
	var candidates []any
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, "", err
		}
		candidates = append(candidates, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	if len(candidates) == 0 {
		return nil, "", nil
	}
	last := candidates[len(candidates)-1].(string)
	var w where
	w.arg(tenantID)
	w.arg(cutoff)
	w.arg(string(account.StatusActive))
	w.arg(string(account.StatusLocked))
	w.arg(string(account.LockInactivity))
	w.arg(at)
	ph := make([]string, len(candidates))
	for i, id := range candidates {
		ph[i] = w.arg(id)
	}
	// The status and the activity are checked again: a log-in or an
	// admin's change may have come in between.
	rows, err = t.dtx.Query(ctx, `UPDATE accounts SET status = $4, lock_reason = $5, locked_until = NULL, updated_at = $6
		WHERE tenant_id = $1 AND status = $3 AND `+inactiveSince+` AND id IN (`+strings.Join(ph, ", ")+`)
		RETURNING `+accountColumns, w.args...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var locked []*account.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, "", err
		}
		locked = append(locked, a)
	}
	return locked, last, rows.Err()
}

func (t *tx) CreateTerms(ctx context.Context, tm *account.Terms) error {
	// Checked first so the conflict is named on both engines.
	if _, err := t.GetTerms(ctx, tm.TenantID, tm.Version); err == nil {
		return errTermsVersionTaken()
	} else if !errs.Is(err, errs.KindNotFound) {
		return err
	}
	_, err := t.dtx.Exec(ctx, "INSERT INTO terms (tenant_id, version, text, published_at) VALUES ($1, $2, $3, $4)",
		tm.TenantID, tm.Version, tm.Text, tm.PublishedAt)
	if _, ok := dbx.IsUniqueViolation(err); ok {
		return errTermsVersionTaken()
	}
	return err
}

func errTermsVersionTaken() error {
	return errs.Conflict("version", "TERMS_VERSION_TAKEN", "this tenant already published terms with this version")
}

// TryExclusive takes the named lock shared by every replica over the
// database (dbx.Exclusive).
func (s *Store) TryExclusive(ctx context.Context, name string) (func(), bool, error) {
	return s.excl.Try(ctx, s.db, name)
}
