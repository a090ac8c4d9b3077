package sqlstore

import (
	"context"
	"errors"
	"time"

	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/services/credential/internal/store"
	"github.com/latchkey/latchkey/services/credential/internal/token"
)

// Keys is the signing-key store.
func (s *Store) Keys() token.KeyStore { return keys{q: s.db} }

// KeysTx runs fn in one transaction with the signing-key store and the
// store's transaction, so a manual rotation (token.Rotate) commits together
// with the event that tells the running services (tx.Emit).
func (s *Store) KeysTx(ctx context.Context, fn func(keys token.KeyStore, tx store.Tx) error) error {
	return s.db.InTx(ctx, func(dtx dbx.Tx) error { return fn(keys{q: dtx}, s.Bind(dtx)) })
}

// keys keeps the signing keys as token seals them: private_key holds the
// sealed seed and kek_id the key-encryption key that sealed it (NULL: a
// plaintext private key an older version stored). The store never sees a
// private key in the clear, except one of those.
type keys struct{ q dbx.Querier }

func (k keys) ListKeys(ctx context.Context) ([]token.StoredKey, error) {
	rows, err := k.q.Query(ctx, "SELECT id, kek_id, private_key, created_at, retire_at FROM signing_keys ORDER BY created_at")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []token.StoredKey
	for rows.Next() {
		var (
			s      token.StoredKey
			kekID  *string
			retire *time.Time
		)
		if err := rows.Scan(&s.ID, &kekID, &s.Sealed, &s.CreatedAt, &retire); err != nil {
			return nil, err
		}
		s.CreatedAt = s.CreatedAt.UTC()
		if kekID != nil {
			s.KEKID = *kekID
		}
		if retire != nil {
			s.RetireAt = retire.UTC()
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func (k keys) AddKey(ctx context.Context, s token.StoredKey) error {
	var retire *time.Time
	if !s.RetireAt.IsZero() {
		retire = &s.RetireAt
	}
	_, err := k.q.Exec(ctx, "INSERT INTO signing_keys (id, kek_id, private_key, created_at, retire_at) VALUES ($1, $2, $3, $4, $5)",
		s.ID, nullable(s.KEKID), s.Sealed, s.CreatedAt, retire)
	return err
}

func (k keys) AddKeyIfNewest(ctx context.Context, s token.StoredKey, newest string) (bool, error) {
	added := false
	add := func(q dbx.Querier) error {
		if q.Dialect() == dbx.Postgres {
			// The replicas of the credential service over this schema
			// take turns; SQLite's one writer does that by itself.
			if _, err := q.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.signing_keys'))"); err != nil {
				return err
			}
		}
		var top string
		err := q.QueryRow(ctx, "SELECT id FROM signing_keys ORDER BY created_at DESC, id DESC LIMIT 1").Scan(&top)
		if err != nil && !errors.Is(err, dbx.ErrNoRows) {
			return err
		}
		if top != newest {
			return nil // another replica added one first
		}
		added = true
		return keys{q: q}.AddKey(ctx, s)
	}
	var err error
	if db, ok := k.q.(dbx.DB); ok {
		err = db.InTx(ctx, func(tx dbx.Tx) error { added = false; return add(tx) })
	} else {
		err = add(k.q) // already in the caller's transaction (KeysTx)
	}
	return added && err == nil, err
}

func (k keys) DeleteKey(ctx context.Context, id string) error {
	_, err := k.q.Exec(ctx, "DELETE FROM signing_keys WHERE id = $1", id)
	return err
}

func (k keys) ResealKey(ctx context.Context, s token.StoredKey) error {
	_, err := k.q.Exec(ctx, "UPDATE signing_keys SET kek_id = $1, private_key = $2 WHERE id = $3", nullable(s.KEKID), s.Sealed, s.ID)
	return err
}

// nullable is NULL for "".
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
