// Package storetest is the conformance suite every implementation of
// store.Store passes, on every dialect.
package storetest

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/services/notification/internal/delivery"
	"github.com/latchkey/latchkey/services/notification/internal/store"
)

// Pending counts events written and not yet published (the outbox's
// Pending), so the suite can check events commit and roll back with the
// change.
type Pending func(ctx context.Context) (int, error)

// Factory returns a store over a fresh, migrated database of its own (the
// worker's Claim takes every due row, so tests cannot share one), and the
// count of its outbox.
type Factory func(t *testing.T) (store.Store, Pending)

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func newDelivery(requestID, tenant, to string) *delivery.Delivery {
	return &delivery.Delivery{
		ID: ids.New(), RequestID: requestID, TenantID: tenant, Template: delivery.PasswordReset,
		RecipientAddress: to, Variables: map[string]string{"token": "secret-token"},
		Status: delivery.Queued, CreatedAt: t0, UpdatedAt: t0,
	}
}

func insert(ctx context.Context, s store.Store, d *delivery.Delivery) (got *delivery.Delivery, created bool, err error) {
	err = s.InTx(ctx, func(tx store.Tx) error {
		got, created, err = tx.Insert(ctx, d)
		return err
	})
	return got, created, err
}

func finish(ctx context.Context, s store.Store, d *delivery.Delivery, r store.Result, now time.Time) (ok bool, err error) {
	err = s.InTx(ctx, func(tx store.Tx) error {
		ok, err = tx.Finish(ctx, d, r, now)
		return err
	})
	return ok, err
}

func admit(ctx context.Context, s store.Store, d *delivery.Delivery, to string, now time.Time, l store.Limits) (ok bool, err error) {
	err = s.InTx(ctx, func(tx store.Tx) error {
		ok, err = tx.Admit(ctx, d, to, now, l)
		return err
	})
	return ok, err
}

func pendingCount(t *testing.T, pending Pending) int {
	t.Helper()
	n, err := pending(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Run runs the suite.
func Run(t *testing.T, newStore Factory) {
	ctx := context.Background()

	t.Run("Insert_RepeatedRequestIDReturnsTheFirst", func(t *testing.T) {
		s, _ := newStore(t)
		d := newDelivery("req-1", "t1", "a@example.com")
		d.CreatedAt = t0.Add(1234567 * time.Nanosecond).In(time.FixedZone("X", 3600)) // finer than both engines keep
		first, created, err := insert(ctx, s, d)
		if err != nil || !created {
			t.Fatalf("first insert: created=%v err=%v", created, err)
		}
		again, created, err := insert(ctx, s, newDelivery("req-1", "t1", "other@example.com"))
		if err != nil || created {
			t.Fatalf("second insert: created=%v err=%v", created, err)
		}
		if again.ID != first.ID || again.RecipientAddress != "a@example.com" {
			t.Fatalf("got %+v, want the first delivery", again)
		}
		got, err := s.Get(ctx, first.ID)
		if err != nil || got.Variables["token"] != "secret-token" || got.Status != delivery.Queued {
			t.Fatalf("Get = %+v, %v", got, err)
		}
		// A new row is returned without reading it back: it must be what
		// a read gives.
		if !reflect.DeepEqual(first, got) {
			t.Fatalf("Insert returned %+v\nGet returns     %+v", first, got)
		}
	})

	t.Run("Prune_DeletesOnlyOldEndedDeliveries", func(t *testing.T) {
		s, _ := newStore(t)
		queued, _, err := insert(ctx, s, newDelivery("req-q", "t1", "a@example.com"))
		if err != nil {
			t.Fatal(err)
		}
		if n, err := s.Prune(ctx, t0.Add(24*time.Hour)); err != nil || n != 0 {
			t.Fatalf("pruned %d (%v) while nothing had ended", n, err)
		}
		if _, err := s.Get(ctx, queued.ID); err != nil {
			t.Fatalf("a queued delivery was pruned: %v", err)
		}
		claimed, err := s.Claim(ctx, t0, time.Minute, 10)
		if err != nil || len(claimed) != 1 {
			t.Fatalf("claim: %v %v", claimed, err)
		}
		if ok, err := finish(ctx, s, claimed[0], store.Result{Status: delivery.Sent}, t0.Add(time.Second)); !ok || err != nil {
			t.Fatalf("finish: %v %v", ok, err)
		}
		if n, err := s.Prune(ctx, t0); err != nil || n != 0 {
			t.Fatalf("pruned %d (%v) a delivery that ended after the cut-off", n, err)
		}
		if n, err := s.Prune(ctx, t0.Add(time.Hour)); err != nil || n != 1 {
			t.Fatalf("pruned %d (%v), want the sent delivery", n, err)
		}
		if _, err := s.Get(ctx, queued.ID); err == nil {
			t.Fatal("the pruned delivery is still there")
		}
	})

	t.Run("Claim_LeasesDueRowsOnceAndReclaimsExpiredLeases", func(t *testing.T) {
		s, _ := newStore(t)
		d, _, err := insert(ctx, s, newDelivery("req-1", "t1", "a@example.com"))
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Claim(ctx, t0.Add(-time.Second), time.Minute, 10); len(got) != 0 {
			t.Fatalf("claimed %d rows before they were due", len(got))
		}
		got, err := s.Claim(ctx, t0, time.Minute, 10)
		if err != nil || len(got) != 1 || got[0].ID != d.ID || got[0].Status != delivery.Sending || got[0].Attempts != 1 {
			t.Fatalf("Claim = %+v, %v", got, err)
		}
		if again, _ := s.Claim(ctx, t0.Add(30*time.Second), time.Minute, 10); len(again) != 0 {
			t.Fatalf("claimed a leased row again")
		}
		// The worker that holds it died: after the lease, another takes it.
		again, err := s.Claim(ctx, t0.Add(61*time.Second), time.Minute, 10)
		if err != nil || len(again) != 1 || again[0].Attempts != 2 {
			t.Fatalf("reclaim = %+v, %v", again, err)
		}
		// The first worker comes back late: its result is not recorded.
		ok, err := finish(ctx, s, got[0], store.Result{Status: delivery.Sent}, t0.Add(62*time.Second))
		if err != nil || ok {
			t.Fatalf("stale Finish = %v, %v; want false", ok, err)
		}
		ok, err = finish(ctx, s, again[0], store.Result{Status: delivery.Sent}, t0.Add(62*time.Second))
		if err != nil || !ok {
			t.Fatalf("Finish = %v, %v", ok, err)
		}
		final, _ := s.Get(ctx, d.ID)
		if final.Status != delivery.Sent || final.SentAt == nil || final.Variables != nil || final.Attempts != 2 {
			t.Fatalf("after Finish: %+v", final)
		}
	})

	t.Run("Finish_StoresAnAdmissionAdmitDidNot", func(t *testing.T) {
		s, _ := newStore(t)
		_, _, _ = insert(ctx, s, newDelivery("req-1", "t1", ""))
		got, _ := s.Claim(ctx, t0, time.Minute, 10)
		// Admitted with no limits to apply: nothing stored yet.
		at := t0.Add(time.Second)
		got[0].AdmittedAt, got[0].RecipientAddress = &at, "Jan@Example.com"
		if ok, err := finish(ctx, s, got[0], store.Result{Status: delivery.Sent}, t0.Add(2*time.Second)); !ok || err != nil {
			t.Fatalf("Finish = %v, %v", ok, err)
		}
		final, _ := s.Get(ctx, got[0].ID)
		if final.AdmittedAt == nil || !final.AdmittedAt.Equal(at) || final.RecipientAddress != "Jan@Example.com" {
			t.Fatalf("after Finish: %+v", final)
		}
		// It counts towards the recipient's limit (the rate key is the
		// lower-case address).
		d2, _, _ := insert(ctx, s, newDelivery("req-2", "t1", "jan@example.com"))
		claimed, _ := s.Claim(ctx, t0.Add(3*time.Second), time.Minute, 10)
		if len(claimed) != 1 || claimed[0].ID != d2.ID {
			t.Fatalf("Claim = %+v", claimed)
		}
		l := store.Limits{PerRecipient: 1, Window: time.Hour}
		if ok, err := admit(ctx, s, claimed[0], "jan@example.com", t0.Add(3*time.Second), l); ok || err != nil {
			t.Fatalf("Admit over the limit = %v, %v; want false", ok, err)
		}
	})

	t.Run("Finish_RetryingIsDueAtItsTime_FailedClearsTheVariables", func(t *testing.T) {
		s, _ := newStore(t)
		d, _, _ := insert(ctx, s, newDelivery("req-1", "t1", "a@example.com"))
		got, _ := s.Claim(ctx, t0, time.Minute, 10)
		next := t0.Add(5 * time.Minute)
		if ok, err := finish(ctx, s, got[0], store.Result{Status: delivery.Retrying, Error: "451 later", NextAttemptAt: next}, t0); !ok || err != nil {
			t.Fatalf("Finish retrying = %v, %v", ok, err)
		}
		r, _ := s.Get(ctx, d.ID)
		if r.Status != delivery.Retrying || r.NextAttemptAt == nil || !r.NextAttemptAt.Equal(next) || r.LastError != "451 later" {
			t.Fatalf("after retrying: %+v", r)
		}
		if c, _ := s.Claim(ctx, next.Add(-time.Second), time.Minute, 10); len(c) != 0 {
			t.Fatal("claimed a retry before its time")
		}
		c, _ := s.Claim(ctx, next, time.Minute, 10)
		if len(c) != 1 {
			t.Fatal("retry not claimed at its time")
		}
		if ok, err := finish(ctx, s, c[0], store.Result{Status: delivery.Failed, Error: "550 no such mailbox"}, next); !ok || err != nil {
			t.Fatalf("Finish failed = %v, %v", ok, err)
		}
		r, _ = s.Get(ctx, d.ID)
		if r.Status != delivery.Failed || r.Variables != nil {
			t.Fatalf("after failed: %+v", r)
		}
	})

	t.Run("Admit_OverTheRecipientOrTenantLimitEndsRateLimited", func(t *testing.T) {
		s, _ := newStore(t)
		lim := store.Limits{PerRecipient: 2, PerTenant: 3, Window: time.Hour}
		admit := func(req, tenant, to string, at time.Time) (*delivery.Delivery, bool) {
			t.Helper()
			d := newDelivery(req, tenant, to)
			d.CreatedAt = at
			if _, _, err := insert(ctx, s, d); err != nil {
				t.Fatal(err)
			}
			c, err := s.Claim(ctx, at, 24*time.Hour, 1)
			if err != nil || len(c) != 1 {
				t.Fatalf("claim %s: %v %v", req, c, err)
			}
			ok, err := admit(ctx, s, c[0], to, at, lim)
			if err != nil {
				t.Fatal(err)
			}
			return c[0], ok
		}
		for i, c := range []struct {
			req, tenant, to string
			at              time.Duration
			ok              bool
		}{
			{"r1", "t1", "a@example.com", 0, true},
			{"r2", "t1", "A@example.com", time.Minute, true},
			{"r3", "t1", "a@example.com", 2 * time.Minute, false}, // third to the same address
			{"r4", "t1", "b@example.com", 3 * time.Minute, true},  // tenant's third
			{"r5", "t1", "c@example.com", 4 * time.Minute, false}, // tenant's fourth
			{"r6", "t2", "a@example.com", 5 * time.Minute, false}, // same address, other tenant
			{"r7", "t1", "a@example.com", 61 * time.Minute, true}, // the window moved on
		} {
			d, ok := admit(c.req, c.tenant, c.to, t0.Add(c.at))
			if ok != c.ok {
				t.Fatalf("case %d (%s): admitted=%v, want %v", i, c.req, ok, c.ok)
			}
			got, _ := s.Get(ctx, d.ID)
			if !ok && (got.Status != delivery.RateLimited || got.LastError == "" || got.Variables != nil) {
				t.Fatalf("case %d: %+v, want RATE_LIMITED with a reason", i, got)
			}
			if ok && (got.Status != delivery.Sending || got.AdmittedAt == nil) {
				t.Fatalf("case %d: %+v, want SENDING and admitted", i, got)
			}
		}
		counts, err := s.Counts(ctx)
		if err != nil || counts[delivery.RateLimited] != 3 || counts[delivery.Sending] != 4 {
			t.Fatalf("Counts = %v, %v", counts, err)
		}
	})

	t.Run("Emit_CommitsAndRollsBackWithTheChange", func(t *testing.T) {
		s, pending := newStore(t)
		ev := func() store.Event {
			id := ids.New()
			return store.Event{ID: id, Subject: "latchkey.events.v1.notification.sent", Message: wrapperspb.String(id)}
		}
		boom := errors.New("boom")
		err := s.InTx(ctx, func(tx store.Tx) error {
			if _, _, err := tx.Insert(ctx, newDelivery("req-rolled-back", "t1", "a@example.com")); err != nil {
				return err
			}
			if err := tx.Emit(ctx, ev()); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx = %v, want the function's error", err)
		}
		if n := pendingCount(t, pending); n != 0 {
			t.Fatalf("%d events pending after a rollback", n)
		}
		if c, _ := s.Counts(ctx); c[delivery.Queued] != 0 {
			t.Fatalf("the rolled-back delivery is stored: %v", c)
		}
		committed := false
		err = s.InTx(ctx, func(tx store.Tx) error {
			if _, _, err := tx.Insert(ctx, newDelivery("req-committed", "t1", "a@example.com")); err != nil {
				return err
			}
			tx.AfterCommit(func() { committed = true })
			return tx.Emit(ctx, ev())
		})
		if err != nil || !committed {
			t.Fatalf("InTx = %v, after-commit hook ran: %v", err, committed)
		}
		if n := pendingCount(t, pending); n != 1 {
			t.Fatalf("%d events pending, want the committed one", n)
		}
	})
}
