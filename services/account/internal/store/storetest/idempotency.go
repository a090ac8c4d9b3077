package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/idempotency"
	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/services/account/internal/store"
)

// testIdempotencyKeys: a key is claimed once per scope, with the answer
// kept beside it in the claiming transaction (and gone with it on
// rollback); an expired key may be claimed again; pruning forgets old keys.
func testIdempotencyKeys(t *testing.T, s store.Store, _ Pending) {
	ctx := context.Background()
	scope := idempotency.Scope{TenantID: ids.New(), Caller: "admin-1"}
	req := idempotency.Request{Key: "key-1", Fingerprint: "fp-1"}
	expired := now.Add(-idempotency.TTL)
	claim := func(scope idempotency.Scope, req idempotency.Request, at time.Time, answer string) (bool, error) {
		var claimed bool
		err := s.InTx(ctx, func(tx store.Tx) error {
			var err error
			if claimed, err = tx.ClaimIdempotencyKey(ctx, scope, req, at, at.Add(-idempotency.TTL)); err != nil || !claimed {
				return err
			}
			return tx.SaveIdempotentResponse(ctx, scope, req.Key, []byte(answer))
		})
		return claimed, err
	}
	record := func(scope idempotency.Scope, key string, since time.Time) *idempotency.Record {
		t.Helper()
		rec, err := s.IdempotencyRecord(ctx, scope, key, since)
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}

	if rec := record(scope, req.Key, expired); rec != nil {
		t.Fatalf("a key never used has a record: %+v", rec)
	}
	// A transaction that rolls back leaves no key.
	errRollback := errors.New("roll back")
	err := s.InTx(ctx, func(tx store.Tx) error {
		if ok, err := tx.ClaimIdempotencyKey(ctx, scope, req, now, expired); err != nil || !ok {
			t.Fatalf("claim = %v, %v", ok, err)
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) || record(scope, req.Key, expired) != nil {
		t.Fatalf("after a rollback: %v, record %+v", err, record(scope, req.Key, expired))
	}

	if ok, err := claim(scope, req, now, "answer-1"); err != nil || !ok {
		t.Fatalf("first claim = %v, %v", ok, err)
	}
	if rec := record(scope, req.Key, expired); rec == nil || rec.Fingerprint != "fp-1" || string(rec.Response) != "answer-1" {
		t.Fatalf("record = %+v", rec)
	}
	if ok, err := claim(scope, idempotency.Request{Key: req.Key, Fingerprint: "fp-2"}, now.Add(time.Hour), "answer-2"); err != nil || ok {
		t.Fatalf("second claim of a live key = %v, %v; want false", ok, err)
	}
	// Another caller, or another tenant, has keys of its own.
	for _, other := range []idempotency.Scope{{TenantID: scope.TenantID, Caller: "admin-2"}, {TenantID: ids.New(), Caller: scope.Caller}} {
		if ok, err := claim(other, req, now, "theirs"); err != nil || !ok {
			t.Fatalf("claim in %+v = %v, %v", other, ok, err)
		}
	}
	if rec := record(scope, req.Key, expired); string(rec.Response) != "answer-1" {
		t.Fatalf("record after other scopes' claims = %+v", rec)
	}

	// A day later the key is free again, and its old record is not read.
	later := now.Add(idempotency.TTL + time.Minute)
	if rec := record(scope, req.Key, later.Add(-idempotency.TTL)); rec != nil {
		t.Fatalf("an expired key's record is read: %+v", rec)
	}
	if ok, err := claim(scope, idempotency.Request{Key: req.Key, Fingerprint: "fp-3"}, later, "answer-3"); err != nil || !ok {
		t.Fatalf("claim of an expired key = %v, %v", ok, err)
	}
	if rec := record(scope, req.Key, later.Add(-idempotency.TTL)); rec == nil || rec.Fingerprint != "fp-3" || string(rec.Response) != "answer-3" {
		t.Fatalf("record after the new claim = %+v", rec)
	}

	// Pruning forgets what is older than its bound, and only that.
	if _, err := s.PruneIdempotencyKeys(ctx, later); err != nil {
		t.Fatal(err)
	}
	other := idempotency.Scope{TenantID: scope.TenantID, Caller: "admin-2"}
	if rec := record(other, req.Key, expired); rec != nil {
		t.Fatalf("a pruned key is still there: %+v", rec)
	}
	if rec := record(scope, req.Key, expired); rec == nil {
		t.Fatal("pruning took a key newer than its bound")
	}
}
