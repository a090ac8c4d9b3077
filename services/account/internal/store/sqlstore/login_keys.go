package sqlstore

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/services/account/internal/account"
)

// loginKeyVersion is the form of the folded username and e-mail columns
// this code writes: account.FoldUsername and account.FoldEmail (PRECIS).
// Rows of version 0 hold lower(), written before.
const loginKeyVersion = 1

// refoldBatch is how many rows one step of RefoldLogins reads.
const refoldBatch = 500

// RefoldLogins rewrites the folded username and e-mail columns of the
// rows written before loginKeyVersion, which only Go can compute (the
// migration marks them). Run at start, before the service answers, it
// changes nothing once every row is current, and replicas starting
// together write the same values.
//
// Two accounts of a tenant whose names were distinct under lower() but
// fold alike now (one typed "ＪＡＮ", the other "jan") cannot both hold
// the folded form: the one that comes second keeps its old form, and is
// logged by id for an administrator to rename; it is retried at every
// start until then. Meanwhile its username finds the other account, and
// its e-mail address still finds it.
func (s *Store) RefoldLogins(ctx context.Context, log *slog.Logger) error {
	if log == nil {
		log = slog.Default()
	}
	if err := s.refoldAccounts(ctx, log); err != nil {
		return fmt.Errorf("account: refold logins: %w", err)
	}
	if err := s.refoldReleased(ctx); err != nil {
		return fmt.Errorf("account: refold released usernames: %w", err)
	}
	return nil
}

func (s *Store) refoldAccounts(ctx context.Context, log *slog.Logger) error {
	type row struct{ id, tenantID, username, email, usernameKey, emailKey string }
	for after := ""; ; {
		batch, err := collect(ctx, s.db, func(rows dbx.Rows) (r row, err error) {
			return r, rows.Scan(&r.id, &r.tenantID, &r.username, &r.email, &r.usernameKey, &r.emailKey)
		}, `SELECT id, tenant_id, username, email, username_folded, email_folded FROM accounts
			WHERE login_key_version < $1 AND id > $2 ORDER BY id LIMIT $3`, loginKeyVersion, nullableID(after), refoldBatch)
		if err != nil || len(batch) == 0 {
			return err
		}
		var same []any
		for _, r := range batch {
			u, e := account.FoldUsername(r.username), account.FoldEmail(r.email)
			if u == r.usernameKey && e == r.emailKey {
				same = append(same, r.id)
				continue
			}
			// One statement per changed row: a collision refuses that
			// row alone.
			_, err := s.db.Exec(ctx, `UPDATE accounts SET username_folded = $1, email_folded = $2, login_key_version = $3
				WHERE id = $4 AND login_key_version < $3`, u, e, loginKeyVersion, r.id)
			if constraint, ok := dbx.IsUniqueViolation(err); ok {
				log.Warn("account: another account of the tenant has the same username or e-mail address once folded; rename one of them",
					"tenant_id", r.tenantID, "account_id", r.id, "constraint", constraint)
				continue
			}
			if err != nil {
				return err
			}
		}
		if len(same) > 0 {
			_, err := s.db.Exec(ctx, fmt.Sprintf("UPDATE accounts SET login_key_version = %d WHERE id IN (%s)",
				loginKeyVersion, dbx.Placeholders(1, len(same))), same...)
			if err != nil {
				return err
			}
		}
		after = batch[len(batch)-1].id
	}
}

// refoldReleased refolds the released usernames, from their lower-cased
// form (the typed one is not kept; PRECIS folds it alike). Two that now
// fold alike become one, held until the later release ends.
func (s *Store) refoldReleased(ctx context.Context) error {
	type row struct {
		tenantID, key, accountID string
		at                       time.Time
	}
	for {
		batch, err := collect(ctx, s.db, func(rows dbx.Rows) (r row, err error) {
			return r, rows.Scan(&r.tenantID, &r.key, &r.accountID, &r.at)
		}, `SELECT tenant_id, username_folded, account_id, released_at FROM released_usernames
			WHERE login_key_version < $1 ORDER BY tenant_id, username_folded LIMIT $2`, loginKeyVersion, refoldBatch)
		if err != nil || len(batch) == 0 {
			return err
		}
		err = s.db.InTx(ctx, func(tx dbx.Tx) error {
			for _, r := range batch {
				key := account.FoldUsername(r.key)
				if key == r.key {
					// Mark it only: another row of this batch may have
					// been merged into it already.
					if _, err := tx.Exec(ctx, `UPDATE released_usernames SET login_key_version = $1
						WHERE tenant_id = $2 AND username_folded = $3 AND login_key_version < $1`, loginKeyVersion, r.tenantID, r.key); err != nil {
						return err
					}
					continue
				}
				if _, err := tx.Exec(ctx, "DELETE FROM released_usernames WHERE tenant_id = $1 AND username_folded = $2",
					r.tenantID, r.key); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, `INSERT INTO released_usernames (tenant_id, username_folded, account_id, released_at, login_key_version)
					VALUES ($1, $2, $3, $4, $5)
					ON CONFLICT (tenant_id, username_folded) DO UPDATE SET
						account_id = CASE WHEN excluded.released_at > released_usernames.released_at THEN excluded.account_id ELSE released_usernames.account_id END,
						released_at = CASE WHEN excluded.released_at > released_usernames.released_at THEN excluded.released_at ELSE released_usernames.released_at END,
						login_key_version = excluded.login_key_version`,
					r.tenantID, key, r.accountID, r.at, loginKeyVersion)
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
}

// collect runs a query and scans every row it returns.
func collect[T any](ctx context.Context, q dbx.Querier, scan func(dbx.Rows) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
