package storetest

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/services/credential/internal/credential"
	"github.com/latchkey/latchkey/services/credential/internal/store"
)

// testExpiryWarnings: the passwords in a tenant's warning window are
// claimed once per expiry (this password, this maximum age), temporary and
// expired ones never, another tenant's not at all.
func testExpiryWarnings(t *testing.T, s store.Store) {
	ctx := context.Background()
	day := 24 * time.Hour
	tenant, other := ids.New(), ids.New()
	in, later, temp, expired, theirs := ids.New(), ids.New(), ids.New(), ids.New(), ids.New()
	save := func(tenantID, accountID string, age time.Duration, temporary bool) {
		inTx(t, s, func(tx store.Tx) error {
			return tx.SavePassword(ctx, &credential.Password{TenantID: tenantID, AccountID: accountID, Hash: "h",
				ChangedAt: now.Add(-age), Temporary: temporary})
		})
	}
	save(tenant, in, 80*day, false)
	save(tenant, later, 70*day, false)
	save(tenant, temp, 80*day, true)
	save(tenant, expired, 95*day, false)
	save(other, theirs, 80*day, false)
	claim := func(maxAge, warn int, limit int) []credential.ExpiryWarning {
		t.Helper()
		after, upTo, ok := credential.ExpiryWarningWindow(now, maxAge, warn)
		if !ok {
			t.Fatal("no window")
		}
		var got []credential.ExpiryWarning
		inTx(t, s, func(tx store.Tx) error {
			var err error
			got, err = tx.ClaimExpiryWarnings(ctx, tenant, maxAge, after, upTo, now, limit)
			return err
		})
		return got
	}
	got := claim(90, 14, 10)
	if len(got) != 1 || got[0].AccountID != in || !got[0].ExpiresAt.Equal(now.Add(-80*day).Add(90*day)) {
		t.Fatalf("first claim = %+v, want only %s expiring in 10 days", got, in)
	}
	if got := claim(90, 14, 10); len(got) != 0 {
		t.Fatalf("second claim = %+v, want none: each expiry is warned once", got)
	}
	// A wider window reaches the later password, once, and not the one
	// already warned.
	if got := claim(90, 30, 10); len(got) != 1 || got[0].AccountID != later {
		t.Fatalf("wider window = %+v, want only %s", got, later)
	}
	// A new maximum age is a new expiry.
	if got := claim(85, 14, 10); len(got) != 1 || got[0].AccountID != in {
		t.Fatalf("after a new max age = %+v, want %s again", got, in)
	}
	// A new password in the window (changed again) is a new expiry too.
	save(tenant, in, 79*day, false)
	if got := claim(85, 14, 10); len(got) != 1 || got[0].AccountID != in {
		t.Fatalf("after a new password = %+v, want %s again", got, in)
	}
	// The limit bounds a batch; the rest come with the next.
	many := ids.New()
	for i := 0; i < 3; i++ {
		inTx(t, s, func(tx store.Tx) error {
			return tx.SavePassword(ctx, &credential.Password{TenantID: many, AccountID: ids.New(), Hash: "h", ChangedAt: now.Add(-80 * day)})
		})
	}
	after, upTo, _ := credential.ExpiryWarningWindow(now, 90, 14)
	var sizes []int
	for i := 0; i < 3; i++ {
		inTx(t, s, func(tx store.Tx) error {
			got, err := tx.ClaimExpiryWarnings(ctx, many, 90, after, upTo, now, 2)
			sizes = append(sizes, len(got))
			return err
		})
	}
	if fmt.Sprint(sizes) != "[2 1 0]" {
		t.Fatalf("batches of 2 claimed %v, want [2 1 0]", sizes)
	}

	// PasswordTenants lists every tenant with passwords, in id order,
	// page by page.
	var all []string
	for after := ""; ; {
		page, err := s.PasswordTenants(ctx, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if len(page) < 2 {
			break
		}
		after = page[len(page)-1]
	}
	if !sort.StringsAreSorted(all) || len(slices.Compact(slices.Clone(all))) != len(all) {
		t.Fatalf("tenants not in order or repeated: %v", all)
	}
	for _, want := range []string{tenant, other, many} {
		if !slices.Contains(all, want) {
			t.Fatalf("tenant %s missing from %v", want, all)
		}
	}
}

// testTryExclusive: one holder at a time, and the lock comes back.
func testTryExclusive(t *testing.T, s store.Store) {
	ctx := context.Background()
	name := "test_" + ids.New()
	release, ok, err := s.TryExclusive(ctx, name)
	if err != nil || !ok {
		t.Fatalf("first: %v %v", ok, err)
	}
	if _, ok, err := s.TryExclusive(ctx, name); err != nil || ok {
		t.Fatalf("second while held: %v %v, want refused", ok, err)
	}
	release()
	release, ok, err = s.TryExclusive(ctx, name)
	if err != nil || !ok {
		t.Fatalf("after release: %v %v", ok, err)
	}
	release()
}
