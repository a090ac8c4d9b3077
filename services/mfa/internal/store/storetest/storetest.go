// Package storetest is the conformance suite every implementation of
// store.Store passes, on every dialect.
package storetest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/services/mfa/internal/factor"
	"github.com/latchkey/latchkey/services/mfa/internal/store"
)

// Pending counts events written and not yet published (the outbox's
// Pending), so the suite can check events commit and roll back with the
// change.
type Pending func(ctx context.Context) (int, error)

// Factory returns a store over a fresh, migrated database of its own and
// the count of its outbox.
type Factory func(t *testing.T) (store.Store, Pending)

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func newFactor(tenant, account string, state factor.State) *factor.Factor {
	return &factor.Factor{
		ID: ids.New(), TenantID: tenant, AccountID: account, State: state,
		KeyID: "k1", Sealed: []byte{0, 1, 2, 250, 255}, CreatedAt: t0,
	}
}

func inTx(t *testing.T, s store.Store, fn func(tx store.Tx) error) {
	t.Helper()
	if err := s.InTx(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

// Run runs the suite.
func Run(t *testing.T, newStore Factory) {
	ctx := context.Background()
	tenant, other := ids.New(), ids.New()

	t.Run("PutFactor_ReplacesTheAccountsFactorAndIsTenantScoped", func(t *testing.T) {
		s, _ := newStore(t)
		acct := ids.New()
		first := newFactor(tenant, acct, factor.Enrolling)
		inTx(t, s, func(tx store.Tx) error { return tx.PutFactor(ctx, first) })
		second := newFactor(tenant, acct, factor.Emailed)
		second.Sealed = []byte("other secret")
		inTx(t, s, func(tx store.Tx) error { return tx.PutFactor(ctx, second) })
		got, err := s.Factor(ctx, tenant, acct)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != second.ID || got.State != factor.Emailed || string(got.Sealed) != "other secret" || got.KeyID != "k1" ||
			!got.CreatedAt.Equal(t0) || got.ConfirmedAt != nil || got.LastStep != 0 {
			t.Fatalf("got %+v, want the second factor", got)
		}
		if _, err := s.Factor(ctx, other, acct); !errs.Is(err, errs.KindNotFound) {
			t.Fatalf("another tenant's read: %v, want NotFound", err)
		}
		var ok bool
		inTx(t, s, func(tx store.Tx) (err error) { ok, err = tx.Activate(ctx, second.ID, t0); return err })
		err = s.InTx(ctx, func(tx store.Tx) error { return tx.PutFactor(ctx, newFactor(tenant, acct, factor.Enrolling)) })
		if !ok || !errors.Is(err, store.ErrConfirmedFactor) {
			t.Fatalf("PutFactor over a confirmed factor = %v, want ErrConfirmedFactor", err)
		}
		if got, _ := s.Factor(ctx, tenant, acct); got.ID != second.ID || got.State != factor.Active {
			t.Fatalf("the confirmed factor was replaced: %+v", got)
		}
	})

	t.Run("AcceptStep_OnlyLaterStepsAndNotAfterTooManyFailures", func(t *testing.T) {
		s, _ := newStore(t)
		f := newFactor(tenant, ids.New(), factor.Active)
		inTx(t, s, func(tx store.Tx) error { return tx.PutFactor(ctx, f) })
		for _, c := range []struct {
			step int64
			want bool
		}{{100, true}, {100, false}, {99, false}, {101, true}, {50, false}} {
			var ok bool
			inTx(t, s, func(tx store.Tx) (err error) {
				ok, err = tx.AcceptStep(ctx, f.ID, c.step, t0, factor.MaxConfirmFailures)
				return err
			})
			if ok != c.want {
				t.Fatalf("AcceptStep(%d) = %v, want %v", c.step, ok, c.want)
			}
		}
		got, _ := s.Factor(ctx, tenant, f.AccountID)
		if got.LastStep != 101 || got.LastUsedAt == nil || !got.LastUsedAt.Equal(t0) {
			t.Fatalf("last step %d used %v", got.LastStep, got.LastUsedAt)
		}

		u := newFactor(tenant, ids.New(), factor.Enrolling)
		inTx(t, s, func(tx store.Tx) error { return tx.PutFactor(ctx, u) })
		for i := 1; i <= 3; i++ {
			var n int
			inTx(t, s, func(tx store.Tx) (err error) { n, err = tx.CountFailedCode(ctx, u.ID); return err })
			if n != i {
				t.Fatalf("failed codes %d, want %d", n, i)
			}
		}
		var ok bool
		inTx(t, s, func(tx store.Tx) (err error) { ok, err = tx.AcceptStep(ctx, u.ID, 5, t0, 3); return err })
		if ok {
			t.Fatal("a step was accepted after the bound of wrong codes")
		}
		inTx(t, s, func(tx store.Tx) (err error) { ok, err = tx.AcceptStep(ctx, u.ID, 5, t0, 4); return err })
		if !ok {
			t.Fatal("a step was refused below the bound of wrong codes")
		}
		var changed bool
		inTx(t, s, func(tx store.Tx) (err error) { changed, err = tx.Activate(ctx, u.ID, t0); return err })
		if !changed {
			t.Fatal("Activate did not change an enrolling factor")
		}
		inTx(t, s, func(tx store.Tx) (err error) { changed, err = tx.Activate(ctx, u.ID, t0); return err })
		if changed {
			t.Fatal("Activate changed an active factor")
		}
		var n int
		inTx(t, s, func(tx store.Tx) (err error) { n, err = tx.CountFailedCode(ctx, u.ID); return err })
		got, _ = s.Factor(ctx, tenant, u.AccountID)
		if n != 0 || got.State != factor.Active || got.FailedCodes != 0 || got.ConfirmedAt == nil {
			t.Fatalf("after activation: count %d, factor %+v", n, got)
		}
	})

	t.Run("AcceptStep_ConcurrentSubmissionsOfOneStep_OneWins", func(t *testing.T) {
		s, _ := newStore(t)
		f := newFactor(tenant, ids.New(), factor.Active)
		inTx(t, s, func(tx store.Tx) error { return tx.PutFactor(ctx, f) })
		var wins atomic.Int32
		var wg sync.WaitGroup
		errc := make(chan error, 20)
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := s.InTx(ctx, func(tx store.Tx) error {
					ok, err := tx.AcceptStep(ctx, f.ID, 777, t0, factor.MaxConfirmFailures)
					if ok {
						wins.Add(1)
					}
					return err
				})
				if err != nil {
					errc <- err
				}
			}()
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Error(err)
		}
		if w := wins.Load(); w != 1 {
			t.Fatalf("%d of 20 parallel submissions accepted, want 1", w)
		}
	})

	t.Run("Reseal_OnlyWhileSealedUnderTheOldKey", func(t *testing.T) {
		s, _ := newStore(t)
		f := newFactor(tenant, ids.New(), factor.Active)
		inTx(t, s, func(tx store.Tx) error { return tx.PutFactor(ctx, f) })
		var ok bool
		inTx(t, s, func(tx store.Tx) (err error) { ok, err = tx.Reseal(ctx, f.ID, "k0", "k2", []byte("x")); return err })
		if ok {
			t.Fatal("resealed a factor not sealed under the old key")
		}
		inTx(t, s, func(tx store.Tx) (err error) { ok, err = tx.Reseal(ctx, f.ID, "k1", "k2", []byte("new")); return err })
		got, _ := s.Factor(ctx, tenant, f.AccountID)
		if !ok || got.KeyID != "k2" || string(got.Sealed) != "new" {
			t.Fatalf("reseal = %v, factor %+v", ok, got)
		}
	})

	t.Run("DeleteFactor_ReturnsWhatItRemoved", func(t *testing.T) {
		s, _ := newStore(t)
		f := newFactor(tenant, ids.New(), factor.Active)
		inTx(t, s, func(tx store.Tx) error { return tx.PutFactor(ctx, f) })
		var gone *factor.Factor
		inTx(t, s, func(tx store.Tx) (err error) { gone, err = tx.DeleteFactor(ctx, other, f.AccountID); return err })
		if gone != nil {
			t.Fatal("deleted through another tenant")
		}
		inTx(t, s, func(tx store.Tx) (err error) { gone, err = tx.DeleteFactor(ctx, tenant, f.AccountID); return err })
		if gone == nil || gone.ID != f.ID {
			t.Fatalf("deleted %+v", gone)
		}
		if _, err := s.Factor(ctx, tenant, f.AccountID); !errs.Is(err, errs.KindNotFound) {
			t.Fatalf("after delete: %v", err)
		}
	})

	t.Run("RecoveryCodes_ReplaceLookUpSpendOnce", func(t *testing.T) {
		s, _ := newStore(t)
		acct := ids.New()
		codes := func(lookups ...string) []*factor.RecoveryCode {
			var out []*factor.RecoveryCode
			for _, l := range lookups {
				out = append(out, &factor.RecoveryCode{ID: ids.New(), TenantID: tenant, AccountID: acct, Lookup: l, Hash: "h-" + l, CreatedAt: t0})
			}
			return out
		}
		inTx(t, s, func(tx store.Tx) error {
			return tx.ReplaceRecoveryCodes(ctx, tenant, acct, codes("aaaa", "bbbb", "cccc"))
		})
		inTx(t, s, func(tx store.Tx) error { return tx.ReplaceRecoveryCodes(ctx, tenant, acct, codes("dddd", "eeee")) })
		if n, err := s.UnusedRecoveryCodes(ctx, tenant, acct); err != nil || n != 2 {
			t.Fatalf("unused = %d, %v; want the 2 of the new set", n, err)
		}
		if _, err := s.RecoveryCodeByLookup(ctx, tenant, acct, "aaaa"); !errs.Is(err, errs.KindNotFound) {
			t.Fatalf("a code of the old set: %v, want NotFound", err)
		}
		if _, err := s.RecoveryCodeByLookup(ctx, other, acct, "dddd"); !errs.Is(err, errs.KindNotFound) {
			t.Fatalf("another tenant's lookup: %v, want NotFound", err)
		}
		c, err := s.RecoveryCodeByLookup(ctx, tenant, acct, "dddd")
		if err != nil || c.Hash != "h-dddd" || c.UsedAt != nil {
			t.Fatalf("lookup = %+v, %v", c, err)
		}
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := s.InTx(ctx, func(tx store.Tx) error {
					ok, err := tx.SpendRecoveryCode(ctx, c.ID, t0)
					if ok {
						wins.Add(1)
					}
					return err
				})
				if err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if w := wins.Load(); w != 1 {
			t.Fatalf("%d of 20 parallel spends won, want 1", w)
		}
		if _, err := s.RecoveryCodeByLookup(ctx, tenant, acct, "dddd"); !errs.Is(err, errs.KindNotFound) {
			t.Fatalf("a used code is still found: %v", err)
		}
		if n, _ := s.UnusedRecoveryCodes(ctx, tenant, acct); n != 1 {
			t.Fatalf("unused = %d, want 1", n)
		}
		var deleted int64
		inTx(t, s, func(tx store.Tx) (err error) { deleted, err = tx.DeleteRecoveryCodes(ctx, tenant, acct); return err })
		if deleted != 2 {
			t.Fatalf("deleted %d, want 2 (used and unused)", deleted)
		}
	})

	t.Run("Emit_CommitsAndRollsBackWithTheChange", func(t *testing.T) {
		s, pending := newStore(t)
		before, err := pending(ctx)
		if err != nil {
			t.Fatal(err)
		}
		boom := errors.New("boom")
		err = s.InTx(ctx, func(tx store.Tx) error {
			if err := tx.PutFactor(ctx, newFactor(tenant, "rolled-back", factor.Active)); err != nil {
				return err
			}
			if err := tx.Emit(ctx, store.Event{ID: ids.New(), Subject: "latchkey.events.v1.mfa.enabled", Message: wrapperspb.String("x")}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx = %v", err)
		}
		if n, _ := pending(ctx); n != before {
			t.Fatalf("a rolled-back event is pending (%d, was %d)", n, before)
		}
		if _, err := s.Factor(ctx, tenant, "rolled-back"); !errs.Is(err, errs.KindNotFound) {
			t.Fatalf("a rolled-back factor is there: %v", err)
		}
		inTx(t, s, func(tx store.Tx) error {
			return tx.Emit(ctx, store.Event{ID: ids.New(), Subject: "latchkey.events.v1.mfa.enabled", Message: wrapperspb.String("x")})
		})
		if n, _ := pending(ctx); n != before+1 {
			t.Fatalf("pending %d, want %d", n, before+1)
		}
	})

	t.Run("KeyRequests_ClaimedOnceUntilTheLeaseEnds", func(t *testing.T) {
		s, _ := newStore(t)
		r := &factor.KeyRequest{ID: ids.New(), TenantCode: "acme", Login: "jan@acme.example", CreatedAt: t0}
		if err := s.EnqueueKeyRequest(ctx, r); err != nil {
			t.Fatal(err)
		}
		got, err := s.ClaimKeyRequests(ctx, t0, time.Minute, 10)
		if err != nil || len(got) != 1 || got[0].ID != r.ID || got[0].Login != r.Login || got[0].TenantCode != "acme" || got[0].Attempts != 1 {
			t.Fatalf("claim = %+v, %v", got, err)
		}
		if again, _ := s.ClaimKeyRequests(ctx, t0.Add(30*time.Second), time.Minute, 10); len(again) != 0 {
			t.Fatalf("claimed again within the lease: %+v", again)
		}
		again, _ := s.ClaimKeyRequests(ctx, t0.Add(2*time.Minute), time.Minute, 10)
		if len(again) != 1 || again[0].Attempts != 2 {
			t.Fatalf("after the lease: %+v", again)
		}
		if err := s.DeleteKeyRequest(ctx, r.ID); err != nil {
			t.Fatal(err)
		}
		if left, _ := s.ClaimKeyRequests(ctx, t0.Add(time.Hour), time.Minute, 10); len(left) != 0 {
			t.Fatalf("a deleted request was claimed: %+v", left)
		}
	})
}
