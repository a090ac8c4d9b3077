package storetest

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/latchkey/latchkey/services/account/internal/account"
	"github.com/latchkey/latchkey/services/account/internal/store"
)

// An import asks about all its rows at once: TakenLogins and
// ReleasedUsernames answer what FindAccountByLogin and UsernameHeld
// answer one by one, also past one statement's worth of values, and only
// in the tenant asked about.
func testManyLoginsAtOnce(t *testing.T, s store.Store, _ Pending) {
	ctx := context.Background()
	tn, other := mustCreateTenant(t, s, "many"), mustCreateTenant(t, s, "many-other")
	mustCreateAccount(t, s, newAccount(tn.ID, "Jan", "jan@example.com"))
	mustCreateAccount(t, s, newAccount(tn.ID, "piet", "Piet.P@Example.com"))
	mustCreateAccount(t, s, newAccount(other.ID, "kees", "kees@example.com"))

	var usernames, emails []string
	for i := range 450 { // more than one IN list
		usernames = append(usernames, fmt.Sprintf("nobody%d", i))
		emails = append(emails, fmt.Sprintf("nobody%d@example.com", i))
	}
	usernames = append(usernames, account.FoldUsername("ＪＡＮ"), account.FoldUsername("piet.p@example.com"), "kees")
	emails = append(emails, account.FoldEmail("PIET.P@example.com"), account.FoldEmail("jan"), "kees@example.com")
	takenU, takenE, err := s.TakenLogins(ctx, tn.ID, usernames, emails)
	if err != nil {
		t.Fatalf("TakenLogins: %v", err)
	}
	if want := map[string]bool{"jan": true}; !reflect.DeepEqual(takenU, want) {
		t.Errorf("taken usernames = %v, want %v", takenU, want)
	}
	if want := map[string]bool{"piet.p@example.com": true}; !reflect.DeepEqual(takenE, want) {
		t.Errorf("taken e-mail addresses = %v, want %v", takenE, want)
	}

	gone := mustCreateAccount(t, s, newAccount(tn.ID, "gone", "gone@example.com"))
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.ReleaseUsername(ctx, tn.ID, gone.ID, "Old.Name", now) }); err != nil {
		t.Fatal(err)
	}
	released, err := s.ReleasedUsernames(ctx, tn.ID, append(usernames, "old.name"), now.Add(-time.Hour))
	if err != nil {
		t.Fatalf("ReleasedUsernames: %v", err)
	}
	if want := map[string][]string{"old.name": {gone.ID}}; !reflect.DeepEqual(released, want) {
		t.Errorf("released = %v, want %v", released, want)
	}
	if released, _ := s.ReleasedUsernames(ctx, tn.ID, []string{"old.name"}, now.Add(time.Second)); len(released) != 0 {
		t.Errorf("released since after the release = %v, want none", released)
	}
	if released, _ := s.ReleasedUsernames(ctx, other.ID, []string{"old.name"}, now.Add(-time.Hour)); len(released) != 0 {
		t.Errorf("released in another tenant = %v, want none", released)
	}
}

// CreateAccounts writes many accounts in one go and names the first row
// whose login is taken, as CreateAccount names the field; then nothing is
// written.
func testCreateAccountsAtOnce(t *testing.T, s store.Store, _ Pending) {
	ctx := context.Background()
	tn := mustCreateTenant(t, s, "batch")
	mustCreateAccount(t, s, newAccount(tn.ID, "taken", "taken@example.com"))
	create := func(accts []*account.Account) (int, error) {
		var failedAt int
		err := s.InTx(ctx, func(tx store.Tx) error {
			var err error
			failedAt, err = tx.CreateAccounts(ctx, accts)
			return err
		})
		return failedAt, err
	}
	var accts []*account.Account
	for i := range 120 { // more than one INSERT
		accts = append(accts, newAccount(tn.ID, fmt.Sprintf("user%d", i), fmt.Sprintf("user%d@example.com", i)))
	}
	for _, c := range []struct {
		row   int
		taken *account.Account
		field string
	}{
		{57, newAccount(tn.ID, "TAKEN", "new57@example.com"), "username"},
		{99, newAccount(tn.ID, "new99", "Taken@Example.com"), "email"},
	} {
		try := append([]*account.Account(nil), accts...)
		try[c.row] = c.taken
		failedAt, err := create(try)
		if failedAt != c.row {
			t.Errorf("failedAt = %d, want %d", failedAt, c.row)
		}
		wantConflict(t, err, c.field)
		wantNotFound(t, func() error { _, err := s.GetAccount(ctx, tn.ID, try[0].ID); return err }())
	}
	if failedAt, err := create(accts); err != nil || failedAt != -1 {
		t.Fatalf("CreateAccounts = %d, %v", failedAt, err)
	}
	for _, a := range []*account.Account{accts[0], accts[119]} {
		got, err := s.GetAccount(ctx, tn.ID, a.ID)
		if err != nil || got.Username != a.Username || got.Email != a.Email || got.Status != a.Status {
			t.Fatalf("GetAccount(%s) = %+v, %v", a.Username, got, err)
		}
		if byLogin, err := s.FindAccountByLogin(ctx, tn.ID, a.Email); err != nil || byLogin.ID != a.ID {
			t.Fatalf("FindAccountByLogin(%s) = %v, %v", a.Email, byLogin, err)
		}
	}
}
