package app

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/idempotency"
	"github.com/latchkey/latchkey/services/account/internal/store"
)

// replayed looks for the answer kept for req's key in scope (a create
// retried after its answer was lost) and decodes it into answer: true when
// there is one. The same key with another request is an errs Conflict
// (IDEMPOTENCY_KEY_REUSED). A call without a key finds nothing.
func (a *App) replayed(ctx context.Context, r store.Reader, scope idempotency.Scope, req idempotency.Request, answer any) (bool, error) {
	if !req.Has() {
		return false, nil
	}
	rec, err := r.IdempotencyRecord(ctx, scope, req.Key, a.clock.Now().Add(-idempotency.TTL))
	if err != nil || rec == nil {
		return false, err
	}
	body, err := req.Replay(rec)
	if err != nil {
		return false, err
	}
	return true, json.Unmarshal(body, answer)
}

// createOnce runs create in a transaction that also claims req's key in
// scope and keeps answer (which create fills) as the call's answer, so a
// repeat of the call gets it instead of a second resource. When another
// call with the key committed first (a concurrent retry), create is not
// run and replay gets its answer instead. Without a key, create just runs.
func (a *App) createOnce(ctx context.Context, scope idempotency.Scope, req idempotency.Request,
	create func(tx store.Tx, now time.Time) error, answer any, replay any) (replayed bool, err error) {
	err = a.store.InTx(ctx, func(tx store.Tx) error {
		now := a.clock.Now()
		replayed = false
		if req.Has() {
			claimed, err := tx.ClaimIdempotencyKey(ctx, scope, req, now, now.Add(-idempotency.TTL))
			if err != nil {
				return err
			}
			if !claimed {
				if replayed, err = a.replayed(ctx, tx, scope, req, replay); err == nil && !replayed {
					err = errors.New("idempotency key taken but not readable")
				}
				return err
			}
		}
		if err := create(tx, now); err != nil || !req.Has() {
			return err
		}
		body, err := json.Marshal(answer)
		if err != nil {
			return err
		}
		return tx.SaveIdempotentResponse(ctx, scope, req.Key, body)
	})
	if req.Has() {
		// A commit the database's loss left unknown is safe to repeat
		// with the key: the repeat answers what the first made, if it
		// made anything. So it is Unavailable (try again), not the
		// internal error that leaves the client not knowing.
		err = dbx.Repeatable(err)
	}
	return replayed, err
}

// PruneIdempotencyKeys forgets the keys older than idempotency.TTL.
func (a *App) PruneIdempotencyKeys(ctx context.Context) (int64, error) {
	return a.store.PruneIdempotencyKeys(ctx, a.clock.Now().Add(-idempotency.TTL))
}

// RunIdempotencyPruner prunes the expired keys every interval (and once
// at start) until ctx ends.
func (a *App) RunIdempotencyPruner(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if _, err := a.PruneIdempotencyKeys(ctx); err != nil && ctx.Err() == nil {
			a.opts.Logger.Warn("pruning idempotency keys failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
