package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/services/credential/internal/store"
)

// Prune implements store.Store.
func (s *Store) Prune(ctx context.Context, expiredBefore, endedBefore time.Time, batch int) (store.Pruned, error) {
	var p store.Pruned
	var err error
	expiredBefore, before := expiredBefore.UTC(), endedBefore.UTC()
	// Tokens first: a session whose tokens all expired has none left after
	// this, which is how the session query below knows it.
	p.RefreshTokens, err = s.deleteInBatches(ctx, `DELETE FROM refresh_tokens WHERE hash IN (
		SELECT hash FROM refresh_tokens WHERE expires_at < $1 LIMIT $2)`, expiredBefore, batch)
	if err != nil {
		return p, fmt.Errorf("prune refresh tokens: %w", err)
	}
	p.LoginTickets, err = s.deleteInBatches(ctx, `DELETE FROM login_tickets WHERE hash IN (
		SELECT hash FROM login_tickets WHERE expires_at < $1 LIMIT $2)`, expiredBefore, batch)
	if err != nil {
		return p, fmt.Errorf("prune log-in tickets: %w", err)
	}
	for {
		n, err := s.pruneSessions(ctx, before, batch)
		p.Sessions += n
		if err != nil {
			return p, fmt.Errorf("prune sessions: %w", err)
		}
		if n < batch {
			break
		}
	}
	// A session names its device key without a foreign key: once the key
	// is gone, the session reads as one whose key was revoked.
	p.Devices, err = s.deleteInBatches(ctx, `DELETE FROM devices WHERE id IN (
		SELECT id FROM devices WHERE revoked_at < $1 LIMIT $2)`, before, batch)
	if err != nil {
		return p, fmt.Errorf("prune device keys: %w", err)
	}
	return p, nil
}

// deleteInBatches runs del ($1 before, $2 batch) until it deletes fewer
// than batch rows, and returns how many it deleted.
func (s *Store) deleteInBatches(ctx context.Context, del string, before time.Time, batch int) (int, error) {
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, err := s.db.Exec(ctx, del, before, batch)
		total += int(n)
		if err != nil || int(n) < batch {
			return total, err
		}
	}
}

// endedSessions selects up to $2 sessions that ended before $1: revoked
// then, or with no refresh token left (Prune deleted the expired ones)
// and unused since.
const endedSessions = `SELECT id FROM sessions
	WHERE revoked_at < $1 OR (last_used_at < $1 AND NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.session_id = sessions.id))
	LIMIT $2`

// pruneSessions deletes one batch of ended sessions with their remaining
// refresh tokens (which reference them), in one transaction.
func (s *Store) pruneSessions(ctx context.Context, before time.Time, batch int) (int, error) {
	var n int
	err := s.db.InTx(ctx, func(dtx dbx.Tx) error {
		n = 0 // InTx may run fn again
		rows, err := dtx.Query(ctx, endedSessions, before, batch)
		if err != nil {
			return err
		}
		var ids []any
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		in := dbx.Placeholders(1, len(ids))
		if _, err := dtx.Exec(ctx, "DELETE FROM refresh_tokens WHERE session_id IN ("+in+")", ids...); err != nil {
			return err
		}
		deleted, err := dtx.Exec(ctx, "DELETE FROM sessions WHERE id IN ("+in+")", ids...)
		n = int(deleted)
		return err
	})
	return n, err
}
