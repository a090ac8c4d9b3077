// Package storetest is the conformance suite of the account service's
// store: every implementation runs it, on every engine, so they cannot
// drift apart.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/services/account/internal/account"
	"github.com/latchkey/latchkey/services/account/internal/store"
)

// Pending counts events written and not yet published (the outbox's
// Pending), so the suite can check events commit and roll back with the
// change.
type Pending func(ctx context.Context) (int, error)

// Run runs the suite against s. s may hold data from earlier runs: each test
// makes tenants of its own.
func Run(t *testing.T, s store.Store, pending Pending) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store, pending Pending)
	}{
		{"TenantRoundTrip", testTenantRoundTrip},
		{"TenantCodeTaken", testTenantCodeTaken},
		{"TenantNotFound", testTenantNotFound},
		{"ListTenantsPagesAndFilters", testListTenants},
		{"AccountRoundTrip", testAccountRoundTrip},
		{"AccountOfOtherTenantIsNotFound", testAccountOtherTenant},
		{"UsernameUniquePerTenantIgnoringCase", testUsernameUnique},
		{"EmailUniquePerTenantIgnoringCase", testEmailUnique},
		{"ConcurrentCreatesOfOneUsername", testConcurrentCreates},
		{"FindAccountByLogin", testFindByLogin},
		{"LoginsThatLookAlikeAreOneLogin", testLoginsLookAlike},
		{"ManyLoginsAtOnce", testManyLoginsAtOnce},
		{"CreateAccountsAtOnce", testCreateAccountsAtOnce},
		{"ListAccountsPagesInIDOrder", testListAccountsPages},
		{"ListAccountsFilters", testListAccountsFilters},
		{"UpdateAccount", testUpdateAccount},
		{"EventsCommitAndRollBackWithTheChange", testEvents},
		{"FreshStartRoundTrip", testFreshStartRoundTrip},
		{"CountAdminsSkipsDisabledAndOtherTenants", testCountAdmins},
		{"ReleasedUsernameHeldFromOthersForAWhile", testReleasedUsername},
		{"TermsVersionsUniquePerTenant", testTerms},
		{"RecordLoginOnlyMovesForward", testRecordLogin},
		{"SecurityStampMovesOncePerCallAndOnlyInItsTenant", testSecurityStamp},
		{"LockInactiveBatchesInIDOrderAndNeverTwice", testLockInactive},
		{"LockInactiveConcurrentSweepsLockEachAccountOnce", testLockInactiveConcurrent},
		{"TryExclusiveIsHeldUntilReleased", testTryExclusive},
		{"IdempotencyKeysClaimedOncePerScope", testIdempotencyKeys},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, s, pending) })
	}
}

var now = clock.Normalize(time.Date(2026, 6, 1, 12, 0, 0, 123456000, time.UTC))

func newTenant(code string) *account.Tenant {
	p := account.DefaultPolicy()
	p.Password.MinLength = 10
	p.InactivityLockDays = 10
	p.BrandName = "Brand " + code
	return &account.Tenant{ID: ids.New(), Code: code, Name: "Tenant " + code, Policy: p, CreatedAt: now, UpdatedAt: now}
}

// uniqueCode makes a tenant code no earlier run used.
func uniqueCode(prefix string) string {
	return prefix + "-" + ids.New()[24:]
}

func mustCreateTenant(t *testing.T, s store.Store, prefix string) *account.Tenant {
	t.Helper()
	tn := newTenant(uniqueCode(prefix))
	if err := s.InTx(context.Background(), func(tx store.Tx) error { return tx.CreateTenant(context.Background(), tn) }); err != nil {
		t.Fatalf("CreateTenant: %v", err)
	}
	return tn
}

func newAccount(tenantID, username, email string) *account.Account {
	return &account.Account{
		ID: ids.New(), TenantID: tenantID, Username: username, Email: email, DisplayName: "Name of " + username,
		Roles: []account.Role{account.RoleUser}, Status: account.StatusPending, Locale: "en",
		CreatedAt: now, UpdatedAt: now,
	}
}

func createAccount(s store.Store, a *account.Account) error {
	return s.InTx(context.Background(), func(tx store.Tx) error { return tx.CreateAccount(context.Background(), a) })
}

func mustCreateAccount(t *testing.T, s store.Store, a *account.Account) *account.Account {
	t.Helper()
	if err := createAccount(s, a); err != nil {
		t.Fatalf("CreateAccount %s: %v", a.Username, err)
	}
	return a
}

func wantConflict(t *testing.T, err error, field string) {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind != errs.KindConflict {
		t.Fatalf("err = %v, want a conflict on %s", err, field)
	}
	if len(e.Fields) != 1 || e.Fields[0].Field != field {
		t.Fatalf("conflict fields = %+v, want %s", e.Fields, field)
	}
}

func wantNotFound(t *testing.T, err error) {
	t.Helper()
	if !errs.Is(err, errs.KindNotFound) {
		t.Fatalf("err = %v, want not found", err)
	}
}

func testTenantRoundTrip(t *testing.T, s store.Store, _ Pending) {
	ctx := context.Background()
	tn := mustCreateTenant(t, s, "rt")
	for name, get := range map[string]func() (*account.Tenant, error){
		"by id":   func() (*account.Tenant, error) { return s.GetTenant(ctx, tn.ID) },
		"by code": func() (*account.Tenant, error) { return s.GetTenantByCode(ctx, tn.Code) },
	} {
		got, err := get()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if fmt.Sprintf("%+v", *got) != fmt.Sprintf("%+v", *tn) {
			t.Fatalf("%s:\n got %+v\nwant %+v", name, *got, *tn)
		}
	}
	tn.Name = "Renamed"
	tn.Policy.TermsRequired = true
	tn.TermsVersion = "2026-06"
	tn.UpdatedAt = now.Add(time.Hour)
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.UpdateTenant(ctx, tn) }); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetTenant(ctx, tn.ID)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%+v", *got) != fmt.Sprintf("%+v", *tn) {
		t.Fatalf("after update:\n got %+v\nwant %+v", *got, *tn)
	}
}

func testTenantCodeTaken(t *testing.T, s store.Store, _ Pending) {
	tn := mustCreateTenant(t, s, "taken")
	again := newTenant(tn.Code)
	err := s.InTx(context.Background(), func(tx store.Tx) error { return tx.CreateTenant(context.Background(), again) })
	wantConflict(t, err, "code")
}

func testTenantNotFound(t *testing.T, s store.Store, _ Pending) {
	_, err := s.GetTenant(context.Background(), ids.New())
	wantNotFound(t, err)
	_, err = s.GetTenantByCode(context.Background(), "no-such-tenant")
	wantNotFound(t, err)
}

func testListTenants(t *testing.T, s store.Store, _ Pending) {
	ctx := context.Background()
	marker := "lt" + ids.New()[30:]
	var want []string
	for i := 0; i < 5; i++ {
		want = append(want, mustCreateTenant(t, s, marker).ID)
	}
	var got []string
	after := ""
	for page := 0; page < 10; page++ {
		list, err := s.ListTenants(ctx, store.TenantQuery{Filter: marker, After: after, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		for _, tn := range list {
			got = append(got, tn.ID)
		}
		if len(list) < 2 {
			break
		}
		after = list[len(list)-1].ID
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("pages gave %v, want %v", got, want)
	}
}

func testAccountRoundTrip(t *testing.T, s store.Store, _ Pending) {
	ctx := context.Background()
	tn := mustCreateTenant(t, s, "acct")
	a := newAccount(tn.ID, "Jane.Doe", "Jane.Doe@Example.com")
	a.Roles = []account.Role{account.RoleAdmin, account.RoleUser}
	login := now.Add(time.Minute)
	a.LastLoginAt = &login
	mustCreateAccount(t, s, a)
	got, err := s.GetAccount(ctx, tn.ID, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%+v %v", *got, *got.LastLoginAt) != fmt.Sprintf("%+v %v", *a, *a.LastLoginAt) {
		t.Fatalf("\n got %+v\nwant %+v", *got, *a)
	}
	if got.ActivatedAt != nil {
		t.Fatalf("ActivatedAt = %v, want nil", got.ActivatedAt)
	}
}

func testAccountOtherTenant(t *testing.T, s store.Store, _ Pending) {
	ctx := context.Background()
	a := mustCreateTenant(t, s, "ta")
	b := mustCreateTenant(t, s, "tb")
	acct := mustCreateAccount(t, s, newAccount(a.ID, "only-in-a", "only@a.example"))
	_, err := s.GetAccount(ctx, b.ID, acct.ID)
	wantNotFound(t, err)
	_, err = s.FindAccountByLogin(ctx, b.ID, "only-in-a")
	wantNotFound(t, err)
	list, err := s.ListAccounts(ctx, b.ID, store.AccountQuery{Limit: 100})
	if err != nil || len(list) != 0 {
		t.Fatalf("tenant b lists %d accounts (%v), want 0", len(list), err)
	}
	err = s.InTx(ctx, func(tx store.Tx) error {
		moved := *acct
		moved.TenantID = b.ID
		return tx.UpdateAccount(ctx, &moved)
	})
	wantNotFound(t, err)
}

func testUsernameUnique(t *testing.T, s store.Store, _ Pending) {
	tn := mustCreateTenant(t, s, "un")
	mustCreateAccount(t, s, newAccount(tn.ID, "alice", "alice@example.com"))
	wantConflict(t, createAccount(s, newAccount(tn.ID, "ALICE", "other@example.com")), "username")
	other := mustCreateTenant(t, s, "un2")
	mustCreateAccount(t, s, newAccount(other.ID, "alice", "alice@example.com"))
}

func testEmailUnique(t *testing.T, s store.Store, _ Pending) {
	tn := mustCreateTenant(t, s, "em")
	mustCreateAccount(t, s, newAccount(tn.ID, "contact1", "shared@example.com"))
	wantConflict(t, createAccount(s, newAccount(tn.ID, "contact2", "SHARED@example.com")), "email")
}

func testConcurrentCreates(t *testing.T, s store.Store, _ Pending) {
	tn := mustCreateTenant(t, s, "cc")
	const n = 8
	var wg sync.WaitGroup
	results := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i] = createAccount(s, newAccount(tn.ID, "racer", fmt.Sprintf("racer%d@example.com", i)))
		}(i)
	}
	wg.Wait()
	ok := 0
	for _, err := range results {
		switch {
		case err == nil:
			ok++
		default:
			wantConflict(t, err, "username")
		}
	}
	if ok != 1 {
		t.Fatalf("%d concurrent creates of one username succeeded, want 1", ok)
	}
}

func testFindByLogin(t *testing.T, s store.Store, _ Pending) {
	ctx := context.Background()
	tn := mustCreateTenant(t, s, "fl")
	a := mustCreateAccount(t, s, newAccount(tn.ID, "Bob", "bob.smith@example.com"))
	for _, login := range []string{"Bob", "bob", "BOB", "bob.smith@example.com", "Bob.Smith@EXAMPLE.com"} {
		got, err := s.FindAccountByLogin(ctx, tn.ID, login)
		if err != nil || got.ID != a.ID {
			t.Fatalf("FindAccountByLogin(%q) = %v, %v", login, got, err)
		}
	}
	_, err := s.FindAccountByLogin(ctx, tn.ID, "bo%")
	wantNotFound(t, err)
}

// Usernames and e-mail addresses that read the same are one login
// (PRECIS): full-width letters, another Unicode normalization, another
// case. The account keeps the form it was created with.
func testLoginsLookAlike(t *testing.T, s store.Store, _ Pending) {
	ctx := context.Background()
	tn := mustCreateTenant(t, s, "la")
	jan := mustCreateAccount(t, s, newAccount(tn.ID, "jan", "jan@example.com"))
	wantConflict(t, createAccount(s, newAccount(tn.ID, "Ｊａｎ", "other1@example.com")), "username")
	wantConflict(t, createAccount(s, newAccount(tn.ID, "piet", "ＪＡＮ@Example.com")), "email")
	rene := mustCreateAccount(t, s, newAccount(tn.ID, "ren\u00e9", "ren\u00e9@example.com"))
	wantConflict(t, createAccount(s, newAccount(tn.ID, "rene\u0301", "other2@example.com")), "username")
	wantConflict(t, createAccount(s, newAccount(tn.ID, "rene2", "RENE\u0301@example.com")), "email")
	for _, c := range []struct {
		login string
		want  *account.Account
	}{
		{"Ｊａｎ", jan}, {"JAN", jan}, {"ｊａｎ@ＥＸＡＭＰＬＥ.com", jan},
		{"rene\u0301", rene}, {"RENE\u0301", rene}, {"Ren\u00c9@example.com", rene},
	} {
		got, err := s.FindAccountByLogin(ctx, tn.ID, c.login)
		if err != nil || got.ID != c.want.ID {
			t.Fatalf("FindAccountByLogin(%q) = %v, %v; want %s", c.login, got, err, c.want.Username)
		}
		if got.Username != c.want.Username || got.Email != c.want.Email {
			t.Fatalf("stored %q <%s>, want the typed form %q <%s>", got.Username, got.Email, c.want.Username, c.want.Email)
		}
	}
	// The reuse guard sees through the forms too.
	inTx(t, s, func(tx store.Tx) error { return tx.ReleaseUsername(ctx, tn.ID, jan.ID, "JAN", now) })
	if held, err := s.UsernameHeld(ctx, tn.ID, "Ｊａｎ", "", now.Add(-time.Hour)); err != nil || !held {
		t.Fatalf("UsernameHeld(Ｊａｎ) after jan was released = %v, %v", held, err)
	}
}

func testListAccountsPages(t *testing.T, s store.Store, _ Pending) {
	ctx := context.Background()
	tn := mustCreateTenant(t, s, "lp")
	var want []string
	for i := 0; i < 7; i++ {
		want = append(want, mustCreateAccount(t, s, newAccount(tn.ID, fmt.Sprintf("user%d", i), fmt.Sprintf("user%d@example.com", i))).ID)
	}
	var got []string
	after := ""
	for {
		list, err := s.ListAccounts(ctx, tn.ID, store.AccountQuery{After: after, Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range list {
			got = append(got, a.ID)
		}
		if len(list) < 3 {
			break
		}
		after = list[len(list)-1].ID
		// An insert between pages lands after the cursor (ids grow), so
		// no page repeats or skips a row.
		if len(got) == 3 {
			want = append(want, mustCreateAccount(t, s, newAccount(tn.ID, "late", "late@example.com")).ID)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("pages gave\n%v\nwant\n%v", got, want)
	}
}

func testListAccountsFilters(t *testing.T, s store.Store, _ Pending) {
	ctx := context.Background()
	tn := mustCreateTenant(t, s, "lf")
	jan := newAccount(tn.ID, "jan.jansen", "jan@office.example")
	jan.DisplayName = "Jan Jansen"
	jan.Status = account.StatusActive
	piet := newAccount(tn.ID, "piet", "p.pieters@office.example")
	piet.DisplayName = "Piet 100% Pieters"
	piet.Roles = []account.Role{account.RoleAdmin}
	klaas := newAccount(tn.ID, "klaas_x", "klaas@client.example")
	klaas.DisplayName = "Klaas"
	klaas.Roles = []account.Role{account.RoleClient, account.RoleUser}
	for _, a := range []*account.Account{jan, piet, klaas} {
		mustCreateAccount(t, s, a)
	}
	for _, tc := range []struct {
		q    store.AccountQuery
		want []string
	}{
		{store.AccountQuery{Filter: "JANSEN"}, []string{"jan.jansen"}},
		{store.AccountQuery{Filter: "ＪＡＮ.ｊａｎｓｅｎ"}, []string{"jan.jansen"}},
		{store.AccountQuery{Filter: "@ＯＦＦＩＣＥ"}, []string{"jan.jansen", "piet"}},
		{store.AccountQuery{Filter: "office.example"}, []string{"jan.jansen", "piet"}},
		{store.AccountQuery{Filter: "100%"}, []string{"piet"}},
		{store.AccountQuery{Filter: "%"}, []string{"piet"}},
		{store.AccountQuery{Filter: "s_x"}, []string{"klaas_x"}},
		{store.AccountQuery{Filter: "_"}, []string{"klaas_x"}},
		{store.AccountQuery{Status: account.StatusActive}, []string{"jan.jansen"}},
		{store.AccountQuery{Role: account.RoleUser}, []string{"jan.jansen", "klaas_x"}},
		{store.AccountQuery{Role: account.RoleAdmin}, []string{"piet"}},
		{store.AccountQuery{Role: account.RoleClient, Filter: "klaas"}, []string{"klaas_x"}},
		{store.AccountQuery{Filter: "nobody"}, nil},
	} {
		tc.q.Limit = 100
		list, err := s.ListAccounts(ctx, tn.ID, tc.q)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range list {
			got = append(got, a.Username)
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%+v: got %v, want %v", tc.q, got, tc.want)
		}
	}
}

func testUpdateAccount(t *testing.T, s store.Store, _ Pending) {
	ctx := context.Background()
	tn := mustCreateTenant(t, s, "ua")
	a := mustCreateAccount(t, s, newAccount(tn.ID, "first", "first@example.com"))
	mustCreateAccount(t, s, newAccount(tn.ID, "second", "second@example.com"))
	a.Username = "SECOND"
	err := s.InTx(ctx, func(tx store.Tx) error { return tx.UpdateAccount(ctx, a) })
	wantConflict(t, err, "username")
	a.Username = "renamed"
	a.Status = account.StatusLocked
	a.LockReason = account.LockInactivity
	activated := now.Add(2 * time.Hour)
	a.ActivatedAt = &activated
	a.LockedUntil = &activated
	a.UpdatedAt = activated
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.UpdateAccount(ctx, a) }); err != nil {
		t.Fatal(err)
	}
	got, err := s.FindAccountByLogin(ctx, tn.ID, "RENAMED")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != account.StatusLocked || got.LockReason != account.LockInactivity || got.ActivatedAt == nil || !got.ActivatedAt.Equal(activated) ||
		got.LockedUntil == nil || !got.LockedUntil.Equal(activated) {
		t.Fatalf("after update: %+v", *got)
	}
	_, err = s.FindAccountByLogin(ctx, tn.ID, "first")
	wantNotFound(t, err)
}

func testEvents(t *testing.T, s store.Store, pending Pending) {
	ctx := context.Background()
	before, err := pending(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ev := func() store.Event {
		return store.Event{ID: ids.New(), Subject: "latchkey.events.v1.test.happened", Message: wrapperspb.String("x")}
	}
	boom := errors.New("boom")
	err = s.InTx(ctx, func(tx store.Tx) error {
		if err := tx.Emit(ctx, ev()); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if n, _ := pending(ctx); n != before {
		t.Fatalf("a rolled-back event is pending: %d, want %d", n, before)
	}
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.Emit(ctx, ev()) }); err != nil {
		t.Fatal(err)
	}
	if n, _ := pending(ctx); n != before+1 {
		t.Fatalf("pending = %d after a committed event, want %d", n, before+1)
	}
}
