package app_test

import (
	"context"
	"errors"
	"testing"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/services/account/internal/account"
	"github.com/latchkey/latchkey/services/account/internal/app"
)

func TestImportAccounts_UsernameThatIsTheEmail(t *testing.T) {
	ctx := context.Background()
	a, _, _ := newRecordingApp(t, 0)
	op := &authn.Principal{Kind: authn.KindOperatorToken}
	policy := account.DefaultPolicy()
	policy.UsernameIsEmail = true
	tn, _, err := a.CreateTenant(ctx, op, app.CreateTenant{Code: "j1", Name: "J1", Policy: policy})
	if err != nil {
		t.Fatal(err)
	}
	rows := []app.ImportRow{
		{ID: ids.New(), Username: "ann@j1.example", Email: "ann@j1.example", DisplayName: "Ann"},
		{ID: ids.New(), Username: "Bob@J1.example", Email: "bob@j1.example", DisplayName: "Bob"},
	}
	results, created, err := a.ImportAccounts(ctx, tn.ID, rows, false)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range results {
		if r.Err != nil {
			t.Errorf("row %d refused: %v", i, r.Err)
		}
	}
	if !created {
		t.Fatal("nothing imported")
	}

	// Another row with the same address is still a duplicate, and an
	// account already there still taken.
	again := []app.ImportRow{
		{ID: ids.New(), Username: "cas@j1.example", Email: "cas@j1.example", DisplayName: "Cas"},
		{ID: ids.New(), Username: "CAS@j1.example", Email: "CAS@j1.example", DisplayName: "Cas again"},
		{ID: ids.New(), Username: "ann@j1.example", Email: "ann@j1.example", DisplayName: "Ann again"},
	}
	results, created, err = a.ImportAccounts(ctx, tn.ID, again, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"", "DUPLICATE_IN_IMPORT", "LOGIN_TAKEN"}
	for i, r := range results {
		if got := reasonOf(r.Err); got != want[i] {
			t.Errorf("row %d: reason %q (%v), want %q", i, got, r.Err, want[i])
		}
	}
	if created {
		t.Fatal("an import with refused rows created accounts")
	}
}

// reasonOf is the reason of an errs error, "" for none.
func reasonOf(err error) string {
	var e *errs.Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}
