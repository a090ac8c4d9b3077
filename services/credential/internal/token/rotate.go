package token

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/latchkey/latchkey/libs/keyring"
)

// Rotation is what Rotate did.
type Rotation struct {
	// Current is the id of the key that signs from now on.
	Current string
	// Retired are the ids of the keys taken out of the ring at once.
	Retired []string
	// At is when the new key was made.
	At time.Time
}

// Rotate makes a new key current in store at once, as an operator does
// with `latchkey keys rotate` (the running issuers learn of it through
// InvalidateKeys). With retireCurrent the key that signed until now is
// deleted, so it leaves JWKS and its tokens stop verifying; without, it
// stays published until its tokens expire, as after a scheduled rotation.
//
// Every stored key is opened first, so a KEK ring that differs from the
// services' fails here, before a key they could not open is added. Run
// it in the transaction that also records the event telling the running
// services (see sqlstore.Store.KeysTx).
func Rotate(ctx context.Context, store KeyStore, kek *keyring.Ring, now time.Time, rotateEvery time.Duration, retireCurrent bool) (Rotation, error) {
	if rotateEvery <= 0 {
		rotateEvery = DefaultRotateEvery
	}
	stored, err := store.ListKeys(ctx)
	if err != nil {
		return Rotation{}, fmt.Errorf("token: list signing keys: %w", err)
	}
	for _, s := range stored {
		if _, err := open(kek, s); err != nil {
			return Rotation{}, err
		}
	}
	slices.SortFunc(stored, func(a, b StoredKey) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	k, err := newSigningKey(now, rotateEvery)
	if err != nil {
		return Rotation{}, err
	}
	if n := len(stored); n > 0 && !k.CreatedAt.After(stored[n-1].CreatedAt) {
		// The newest key signs: a clock behind the current key's must
		// not leave the new one second.
		k.CreatedAt = stored[n-1].CreatedAt.Add(time.Microsecond)
		k.RetireAt = k.CreatedAt.Add(rotateEvery)
	}
	if err := store.AddKey(ctx, seal(kek, k)); err != nil {
		return Rotation{}, fmt.Errorf("token: add signing key: %w", err)
	}
	r := Rotation{Current: k.ID, At: k.CreatedAt}
	if retireCurrent && len(stored) > 0 {
		old := stored[len(stored)-1].ID
		if err := store.DeleteKey(ctx, old); err != nil {
			return Rotation{}, fmt.Errorf("token: retire signing key %q: %w", old, err)
		}
		r.Retired = append(r.Retired, old)
	}
	return r, nil
}
