package app_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/testkit"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
	"github.com/latchkey/latchkey/services/credential/internal/app"
	"github.com/latchkey/latchkey/services/credential/internal/credential"
)

// The sweep warns each password that entered the tenant's warning window
// once, with its expiry; a password outside it, a temporary one, or a
// tenant without expiry, not at all; a new password is a new expiry.
func TestWarnExpiringPasswords_OncePerExpiry(t *testing.T) {
	testkit.EachDialect(t, "credential", func(t *testing.T, db dbx.DB) {
		w := newWorldOn(t, db)
		ctx := context.Background()
		day := 24 * time.Hour
		policy := credential.Policy{MaxAgeDays: 90, ExpiryWarningDays: 14}
		anna := w.account("anna", "Correct-Horse-1", false, policy)
		w.clock.Advance(10 * day)
		w.account("bert", "Correct-Horse-1", false, policy) // 10 days younger
		w.account("cees", "Correct-Horse-1", true, policy)  // temporary
		changedAt := w.clock.Now().Add(-10 * day)

		sweep := func() int {
			t.Helper()
			n, err := w.app.WarnExpiringPasswords(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := sweep(); n != 0 {
			t.Fatalf("%d warnings before any window", n)
		}
		w.clock.Advance(66 * day) // anna's password is 76 days old: 14 days left
		if n := sweep(); n != 1 {
			t.Fatalf("%d warnings, want anna's", n)
		}
		evs := w.store.eventsOf("credential.password_expires_soon")
		if len(evs) != 1 {
			t.Fatalf("%d events, want 1", len(evs))
		}
		ev := evs[0].event.Message.(*eventsv1.PasswordExpiresSoon)
		if ev.GetAccountId() != anna.AccountID || !ev.GetExpireTime().AsTime().Equal(changedAt.Add(90*day)) ||
			ev.GetMeta().GetTenantId() != anna.TenantID {
			t.Fatalf("event %v, want anna's expiry %v", ev, changedAt.Add(90*day))
		}
		if n := sweep(); n != 0 {
			t.Fatalf("second sweep warned %d, want none: each expiry once", n)
		}
		w.clock.Advance(10 * day) // bert enters his window; anna is still in hers
		if n := sweep(); n != 1 {
			t.Fatalf("%d warnings, want bert's only", n)
		}
		// Anna's password expires and she sets a new one: its expiry is
		// warned in its turn.
		w.clock.Advance(10 * day)
		if err := w.app.SetPasswordAfterReset(ctx, anna.TenantID, anna.AccountID, "Another-Horse-2", false); err != nil {
			t.Fatal(err)
		}
		w.clock.Advance(80 * day)
		if n := sweep(); n != 1 { // anna's new password; bert's has expired unchanged
			t.Fatalf("sweep after anna's new password: %d warnings, want 1", n)
		}
		last := w.store.eventsOf("credential.password_expires_soon")
		if got := last[len(last)-1].event.Message.(*eventsv1.PasswordExpiresSoon).GetAccountId(); got != anna.AccountID {
			t.Fatalf("last warning for %s, want anna's new password", got)
		}
	})
}

// Only one replica sweeps at a time: of parallel sweeps by two replicas
// over one database, the warning goes out once.
func TestWarnExpiringPasswords_OneReplicaAtATime(t *testing.T) {
	testkit.EachDialect(t, "credential", func(t *testing.T, db dbx.DB) {
		a, b := newWorldOn(t, db), newWorldOn(t, db)
		day := 24 * time.Hour
		policy := credential.Policy{MaxAgeDays: 90, ExpiryWarningDays: 14}
		for _, name := range []string{"anna", "bert", "cees"} {
			s := a.account(name, "Correct-Horse-1", false, policy)
			b.dir.add(s)
		}
		a.clock.Advance(80 * day)
		b.clock.Advance(80 * day)
		var wg sync.WaitGroup
		var mu sync.Mutex
		running := 0
		for i := range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w := a
				if i%2 == 1 {
					w = b
				}
				_, err := w.app.WarnExpiringPasswords(context.Background())
				if errors.Is(err, app.ErrSweepRunning) {
					mu.Lock()
					running++
					mu.Unlock()
				} else if err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		got := len(a.store.eventsOf("password_expires_soon")) + len(b.store.eventsOf("password_expires_soon"))
		if got != 3 {
			t.Fatalf("%d warnings for 3 passwords, want 3 (each once)", got)
		}
		t.Logf("%d of 10 sweeps found another running", running)
	})
}
