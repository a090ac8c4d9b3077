package app_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/services/account/internal/account"
	"github.com/latchkey/latchkey/services/account/internal/app"
)

// wantFieldError wants an errs error of kind naming field.
func wantFieldError(t *testing.T, what string, err error, kind errs.Kind, field string) {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind != kind || len(e.Fields) == 0 || e.Fields[0].Field != field {
		t.Fatalf("%s: %v, want %v on %s", what, err, kind, field)
	}
}

// Every way a login enters the service compares it in its PRECIS form:
// creation, log-in, a change of login id, import, the operator bootstrap
// and the reuse guard.
func TestLogins_ComparedAsPeopleReadThem(t *testing.T) {
	ctx := context.Background()
	_, st, clk := newRecordingApp(t, 0)
	a := app.New(st, clk, slowCredentials{clk}, app.Options{UsernameReuse: 30 * 24 * time.Hour})
	op := &authn.Principal{Kind: authn.KindOperatorToken, TenantCode: "acme"}
	if _, _, err := a.CreateTenant(ctx, op, app.CreateTenant{Code: "acme", Name: "Acme", Policy: account.DefaultPolicy()}); err != nil {
		t.Fatal(err)
	}
	newAcct := func(username, email string) (*account.Account, error) {
		return a.CreateAccount(ctx, op, app.NewAccount{Username: username, Email: email, DisplayName: "X", Roles: []account.Role{account.RoleUser}})
	}
	jan, err := newAcct("jan", "jan@acme.example")
	if err != nil {
		t.Fatal(err)
	}
	rene, err := newAcct("ren\u00e9", "rene@acme.example")
	if err != nil {
		t.Fatal(err)
	}
	_, err = newAcct("Ｊａｎ", "wide@acme.example")
	wantFieldError(t, "create Ｊａｎ beside jan", err, errs.KindConflict, "username")
	_, err = newAcct("rene\u0301", "rene2@acme.example")
	wantFieldError(t, "create rene+accent beside rené", err, errs.KindConflict, "username")
	_, err = newAcct("jan\u0007", "bell@acme.example")
	wantFieldError(t, "a control character", err, errs.KindInvalid, "username")

	// Log-in finds the account whatever form is typed.
	for login, want := range map[string]*account.Account{"ＪＡＮ": jan, "Jan": jan, "RENE\u0301": rene, "Ren\u00e9": rene} {
		_, got, err := a.ResolveLogin(ctx, "acme", login)
		if err != nil || got.ID != want.ID {
			t.Fatalf("ResolveLogin(%q) = %v, %v; want %s", login, got, err, want.Username)
		}
	}

	// A change of login id to a look-alike of another's is refused; to a
	// look-alike of its own is a change of display form only.
	_, err = a.ChangeUsername(ctx, op, rene.ID, "ＪＡＮ")
	wantFieldError(t, "rename rené to ＪＡＮ", err, errs.KindConflict, "newUsername")
	if _, err := a.ChangeUsername(ctx, op, jan.ID, "Ｊａｎ"); err != nil {
		t.Fatalf("jan writes its name in full width: %v", err)
	}
	// The name rené gives up stays reserved in every form.
	if _, err := a.ChangeUsername(ctx, op, rene.ID, "rene.b"); err != nil {
		t.Fatal(err)
	}
	_, err = newAcct("RENE\u0301", "rene3@acme.example")
	wantFieldError(t, "take the released name in another form", err, errs.KindConflict, "username")

	// Import: look-alikes within the rows and against the tenant.
	tn, _, _ := a.ResolveLogin(ctx, "acme", "jan")
	results, created, err := a.ImportAccounts(ctx, tn.ID, []app.ImportRow{
		{ID: ids.New(), Username: "piet", Email: "piet@acme.example", DisplayName: "Piet"},
		{ID: ids.New(), Username: "ＰＩＥＴ", Email: "piet2@acme.example", DisplayName: "Piet 2"},
		{ID: ids.New(), Username: "JAN", Email: "jan3@acme.example", DisplayName: "Jan 3"},
		{ID: ids.New(), Username: "René", Email: "rene4@acme.example", DisplayName: "René 4"},             // released by rené
		{ID: ids.New(), Username: "Rene@ACME.example", Email: "rene5@acme.example", DisplayName: "René 5"}, // rené's e-mail
	}, true, app.ImportKey{})
	if err != nil || created {
		t.Fatal(err, created)
	}
	if results[0].Err != nil {
		t.Fatalf("row 0: %v", results[0].Err)
	}
	wantFieldError(t, "import row 1", results[1].Err, errs.KindConflict, "username")
	wantFieldError(t, "import row 2", results[2].Err, errs.KindConflict, "username")
	wantFieldError(t, "import row 3", results[3].Err, errs.KindConflict, "username")
	if e := (*errs.Error)(nil); !errors.As(results[3].Err, &e) || e.Reason != "USERNAME_RECENTLY_RELEASED" {
		t.Fatalf("import row 3: %v, want USERNAME_RECENTLY_RELEASED", results[3].Err)
	}
	wantFieldError(t, "import row 4", results[4].Err, errs.KindConflict, "username")
}

// The operator bootstrap finds its operator whatever form configuration
// spells it in, and makes no second one.
func TestBootstrapOperator_FindsTheOperatorInAnyForm(t *testing.T) {
	ctx := context.Background()
	a, _, _ := newRecordingApp(t, 0)
	if pw, err := a.BootstrapOperator(ctx, app.OperatorAccount{TenantCode: "platform", Username: "root", Email: "root@platform.example"}); err != nil || pw == "" {
		t.Fatal(pw, err)
	}
	pw, err := a.BootstrapOperator(ctx, app.OperatorAccount{TenantCode: "platform", Username: "ＲＯＯＴ", Email: "root@platform.example"})
	if err != nil || pw != "" {
		t.Fatalf("second start with the name in full width: %q %v, want nothing done", pw, err)
	}
}
