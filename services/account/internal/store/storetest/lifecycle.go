package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/services/account/internal/account"
	"github.com/latchkey/latchkey/services/account/internal/store"
)

func inTx(t *testing.T, s store.Store, fn func(tx store.Tx) error) {
	t.Helper()
	if err := s.InTx(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

func testFreshStartRoundTrip(t *testing.T, s store.Store, _ Pending) {
	ctx := context.Background()
	tn := mustCreateTenant(t, s, "fs")
	a := mustCreateAccount(t, s, newAccount(tn.ID, "fresh", "fresh@example.com"))
	fresh := now.Add(3 * time.Hour)
	a.FreshStartAt = &fresh
	inTx(t, s, func(tx store.Tx) error { return tx.UpdateAccount(ctx, a) })
	got, err := s.GetAccount(ctx, tn.ID, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.FreshStartAt == nil || !got.FreshStartAt.Equal(fresh) {
		t.Fatalf("FreshStartAt = %v, want %v", got.FreshStartAt, fresh)
	}
}

func testCountAdmins(t *testing.T, s store.Store, _ Pending) {
	ctx := context.Background()
	tn := mustCreateTenant(t, s, "adm")
	other := mustCreateTenant(t, s, "adm2")
	admin := func(tenantID, name string, status account.Status, roles ...account.Role) {
		a := newAccount(tenantID, name, name+"@example.com")
		a.Roles, a.Status = roles, status
		mustCreateAccount(t, s, a)
	}
	admin(tn.ID, "a1", account.StatusActive, account.RoleUser, account.RoleAdmin)
	admin(tn.ID, "a2", account.StatusLocked, account.RoleAdmin)
	admin(tn.ID, "a3", account.StatusDisabled, account.RoleAdmin)
	admin(tn.ID, "u1", account.StatusActive, account.RoleUser)
	admin(other.ID, "a4", account.StatusActive, account.RoleAdmin)
	n, err := s.CountAdmins(ctx, tn.ID)
	if err != nil || n != 2 {
		t.Fatalf("CountAdmins = %d, %v; want 2 (active and locked, not disabled, not the other tenant's)", n, err)
	}
	inTx(t, s, func(tx store.Tx) error { return tx.LockTenantRow(ctx, tn.ID) })
	err = s.InTx(ctx, func(tx store.Tx) error { return tx.LockTenantRow(ctx, "01900000-0000-7000-8000-000000000000") })
	wantNotFound(t, err)
}

func testReleasedUsername(t *testing.T, s store.Store, _ Pending) {
	ctx := context.Background()
	tn := mustCreateTenant(t, s, "rel")
	other := mustCreateTenant(t, s, "rel2")
	a := mustCreateAccount(t, s, newAccount(tn.ID, "Old.Name", "old@example.com"))
	b := mustCreateAccount(t, s, newAccount(tn.ID, "someone", "someone@example.com"))
	inTx(t, s, func(tx store.Tx) error { return tx.ReleaseUsername(ctx, tn.ID, a.ID, "Old.Name", now) })
	for _, tc := range []struct {
		name            string
		tenant, account string
		since           time.Time
		want            bool
	}{
		{"another account, in time", tn.ID, b.ID, now.Add(-time.Hour), true},
		{"a new account (no id yet in the table)", tn.ID, "", now.Add(-time.Hour), true},
		{"released exactly at since", tn.ID, b.ID, now, true},
		{"the account that gave it up", tn.ID, a.ID, now.Add(-time.Hour), false},
		{"after the reuse time", tn.ID, b.ID, now.Add(time.Second), false},
		{"another tenant", other.ID, b.ID, now.Add(-time.Hour), false},
	} {
		got, err := s.UsernameHeld(ctx, tc.tenant, "OLD.name", tc.account, tc.since)
		if err != nil || got != tc.want {
			t.Errorf("%s: UsernameHeld = %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	// Released again (by b, later): the time restarts and b owns it.
	later := now.Add(48 * time.Hour)
	inTx(t, s, func(tx store.Tx) error { return tx.ReleaseUsername(ctx, tn.ID, b.ID, "old.name", later) })
	if held, _ := s.UsernameHeld(ctx, tn.ID, "old.name", a.ID, now.Add(24*time.Hour)); !held {
		t.Fatal("released again: not held from the first account")
	}
	if held, _ := s.UsernameHeld(ctx, tn.ID, "old.name", b.ID, now); held {
		t.Fatal("released again: held from the account that released it")
	}
}

func testTerms(t *testing.T, s store.Store, _ Pending) {
	ctx := context.Background()
	tn := mustCreateTenant(t, s, "terms")
	other := mustCreateTenant(t, s, "terms2")
	v1 := &account.Terms{TenantID: tn.ID, Version: "2026-01", Text: "Line one\nLine two", PublishedAt: now}
	inTx(t, s, func(tx store.Tx) error { return tx.CreateTerms(ctx, v1) })
	got, err := s.GetTerms(ctx, tn.ID, "2026-01")
	if err != nil || *got != *v1 {
		t.Fatalf("GetTerms = %+v, %v; want %+v", got, err, v1)
	}
	err = s.InTx(ctx, func(tx store.Tx) error {
		return tx.CreateTerms(ctx, &account.Terms{TenantID: tn.ID, Version: "2026-01", Text: "again", PublishedAt: now})
	})
	wantConflict(t, err, "version")
	// The same version in another tenant is another document.
	inTx(t, s, func(tx store.Tx) error {
		return tx.CreateTerms(ctx, &account.Terms{TenantID: other.ID, Version: "2026-01", Text: "theirs", PublishedAt: now})
	})
	_, err = s.GetTerms(ctx, tn.ID, "2099-01")
	wantNotFound(t, err)
}

func testRecordLogin(t *testing.T, s store.Store, _ Pending) {
	ctx := context.Background()
	tn := mustCreateTenant(t, s, "login")
	a := mustCreateAccount(t, s, newAccount(tn.ID, "logs-in", "logs-in@example.com"))
	record := func(at time.Time) bool {
		var moved bool
		inTx(t, s, func(tx store.Tx) error {
			var err error
			moved, err = tx.RecordLogin(ctx, tn.ID, a.ID, at)
			return err
		})
		return moved
	}
	t1, t2 := now.Add(time.Hour), now.Add(2*time.Hour)
	if !record(t2) || record(t1) || record(t2) {
		t.Fatal("RecordLogin: want moved for the first, not for an earlier or equal time")
	}
	got, _ := s.GetAccount(ctx, tn.ID, a.ID)
	if got.LastLoginAt == nil || !got.LastLoginAt.Equal(t2) {
		t.Fatalf("LastLoginAt = %v, want %v", got.LastLoginAt, t2)
	}
	var moved bool
	inTx(t, s, func(tx store.Tx) error {
		var err error
		moved, err = tx.RecordLogin(ctx, tn.ID, "01900000-0000-7000-8000-000000000000", t2)
		return err
	})
	if moved {
		t.Fatal("RecordLogin of an unknown account moved something")
	}
}

// inactiveFixture makes accounts of one tenant whose last activity is
// before or after cutoff, in every way the sweep must tell apart.
func inactiveFixture(t *testing.T, s store.Store, prefix string) (tn *account.Tenant, cutoff time.Time, due []string) {
	tn = mustCreateTenant(t, s, prefix)
	cutoff = now.Add(-10 * 24 * time.Hour)
	old, recent := cutoff.Add(-time.Hour), cutoff.Add(time.Hour)
	mk := func(name string, status account.Status, set func(a *account.Account)) {
		a := newAccount(tn.ID, name, name+"@example.com")
		a.Status = status
		a.CreatedAt = old
		set(a)
		mustCreateAccount(t, s, a)
		if a.Status == account.StatusActive && a.InactiveAt(now, 10) {
			due = append(due, a.ID)
		}
	}
	at := func(t time.Time) *time.Time { return &t }
	mk("never-logged-in", account.StatusActive, func(a *account.Account) {})
	mk("old-login", account.StatusActive, func(a *account.Account) { a.LastLoginAt = at(old); a.ActivatedAt = at(recent) })
	mk("recent-login", account.StatusActive, func(a *account.Account) { a.LastLoginAt = at(recent) })
	mk("recent-activation", account.StatusActive, func(a *account.Account) { a.ActivatedAt = at(recent) })
	mk("recent-creation", account.StatusActive, func(a *account.Account) { a.CreatedAt = recent })
	mk("fresh-start", account.StatusActive, func(a *account.Account) { a.LastLoginAt = at(old); a.FreshStartAt = at(recent) })
	mk("old-fresh-start", account.StatusActive, func(a *account.Account) { a.LastLoginAt = at(old); a.FreshStartAt = at(old) })
	mk("pending", account.StatusPending, func(a *account.Account) {})
	mk("disabled", account.StatusDisabled, func(a *account.Account) {})
	mk("locked", account.StatusLocked, func(a *account.Account) { a.LockReason = account.LockAdmin })
	for i := 0; i < 5; i++ {
		mk("bulk-"+string(rune('a'+i)), account.StatusActive, func(a *account.Account) {})
	}
	return tn, cutoff, due
}

func testLockInactive(t *testing.T, s store.Store, _ Pending) {
	ctx := context.Background()
	tn, cutoff, due := inactiveFixture(t, s, "sweep")
	if len(due) != 8 {
		t.Fatalf("fixture: %d accounts due, want 8", len(due))
	}
	at := now.Add(time.Minute)
	var locked []string
	batches := 0
	for after := ""; ; {
		var got []*account.Account
		inTx(t, s, func(tx store.Tx) error {
			var err error
			got, after, err = tx.LockInactive(ctx, tn.ID, cutoff, after, 3, at)
			return err
		})
		if after == "" {
			break
		}
		batches++
		for _, a := range got {
			if a.Status != account.StatusLocked || a.LockReason != account.LockInactivity || !a.UpdatedAt.Equal(at) || a.LockedUntil != nil {
				t.Fatalf("returned account %s: %+v", a.Username, *a)
			}
			locked = append(locked, a.ID)
		}
		if batches > 10 {
			t.Fatal("LockInactive does not end")
		}
	}
	if batches != 3 {
		t.Errorf("batches = %d, want 3 of at most 3", batches)
	}
	if len(locked) != len(due) {
		t.Fatalf("locked %d accounts, want %d", len(locked), len(due))
	}
	for i := range due {
		if locked[i] != due[i] {
			t.Fatalf("locked %v, want %v in id order", locked, due)
		}
	}
	list, _ := s.ListAccounts(ctx, tn.ID, store.AccountQuery{Status: account.StatusLocked, Limit: 100})
	if len(list) != len(due)+1 {
		t.Fatalf("%d accounts locked in the store, want %d", len(list), len(due)+1)
	}
	// Again: nothing is due any more.
	inTx(t, s, func(tx store.Tx) error {
		got, _, err := tx.LockInactive(ctx, tn.ID, cutoff, "", 100, at)
		if len(got) != 0 {
			t.Errorf("second sweep locked %d", len(got))
		}
		return err
	})
}

func testLockInactiveConcurrent(t *testing.T, s store.Store, _ Pending) {
	ctx := context.Background()
	tn, cutoff, due := inactiveFixture(t, s, "sweepc")
	var mu sync.Mutex
	count := map[string]int{}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for after := ""; ; {
				var got []*account.Account
				err := s.InTx(ctx, func(tx store.Tx) error {
					var err error
					got, after, err = tx.LockInactive(ctx, tn.ID, cutoff, after, 2, now)
					return err
				})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, a := range got {
					count[a.ID]++
				}
				mu.Unlock()
				if after == "" {
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, id := range due {
		if count[id] != 1 {
			t.Errorf("account %s locked %d times, want once", id, count[id])
		}
	}
	if len(count) != len(due) {
		t.Errorf("%d accounts locked, want %d", len(count), len(due))
	}
}

func testTryExclusive(t *testing.T, s store.Store, _ Pending) {
	ctx := context.Background()
	name := uniqueCode("excl")
	release, ok, err := s.TryExclusive(ctx, name)
	if err != nil || !ok {
		t.Fatalf("first TryExclusive: %v %v", ok, err)
	}
	if _, ok, err := s.TryExclusive(ctx, name); err != nil || ok {
		t.Fatalf("second TryExclusive while held: %v %v, want not ok", ok, err)
	}
	other, ok, err := s.TryExclusive(ctx, name+"-other")
	if err != nil || !ok {
		t.Fatalf("another name: %v %v", ok, err)
	}
	other()
	release()
	again, ok, err := s.TryExclusive(ctx, name)
	if err != nil || !ok {
		t.Fatalf("after release: %v %v", ok, err)
	}
	again()
}

func testSecurityStamp(t *testing.T, s store.Store, _ Pending) {
	ctx := context.Background()
	tn := mustCreateTenant(t, s, "stamp")
	other := mustCreateTenant(t, s, "stamp")
	a := mustCreateAccount(t, s, newAccount(tn.ID, "stamped", "stamped@example.com"))
	const calls = 20
	var wg sync.WaitGroup
	for range calls {
		wg.Go(func() {
			if err := s.MoveSecurityStamp(ctx, tn.ID, a.ID); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got, err := s.GetAccount(ctx, tn.ID, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.SecurityStamp != a.SecurityStamp+calls {
		t.Fatalf("stamp %d after %d concurrent moves from %d", got.SecurityStamp, calls, a.SecurityStamp)
	}
	// An update of the account, from a copy read before the moves, saves
	// its fields, not its old stamp.
	a.DisplayName = "Stamped"
	inTx(t, s, func(tx store.Tx) error { return tx.UpdateAccount(ctx, a) })
	if again, _ := s.GetAccount(ctx, tn.ID, a.ID); again.SecurityStamp != got.SecurityStamp {
		t.Fatalf("stamp %d after an update, want %d", again.SecurityStamp, got.SecurityStamp)
	}
	wantNotFound(t, s.MoveSecurityStamp(ctx, other.ID, a.ID))
	wantNotFound(t, s.MoveSecurityStamp(ctx, tn.ID, "01900000-0000-7000-8000-000000000000"))
}
