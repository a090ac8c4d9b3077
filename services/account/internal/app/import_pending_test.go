package app_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/events"
	"github.com/latchkey/latchkey/libs/ids"
	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
	"github.com/latchkey/latchkey/services/account/internal/account"
	"github.com/latchkey/latchkey/services/account/internal/app"
)

// A row imported without a password becomes a PENDING account with an
// activation e-mail (AccountInvited, which recovery consumes), as the
// import API promises; a row with one is ACTIVE and invites nobody.
func TestImportAccounts_RowWithoutPasswordIsPendingAndInvited(t *testing.T) {
	ctx := context.Background()
	a, st, _ := newRecordingApp(t, 10)
	op := &authn.Principal{Kind: authn.KindOperatorToken, TenantCode: "acme"}
	tn, _, err := a.CreateTenant(ctx, op, app.CreateTenant{Code: "acme", Name: "Acme", Policy: account.DefaultPolicy()})
	if err != nil {
		t.Fatal(err)
	}
	st.take()
	rows := []app.ImportRow{
		{ID: ids.New(), Username: "dik", Email: "dik@acme.example", DisplayName: "Dik"},
		{ID: ids.New(), Username: "eva", Email: "eva@acme.example", DisplayName: "Eva", Pending: true},
	}
	results, created, err := a.ImportAccounts(ctx, tn.ID, rows, false, app.ImportKey{})
	if err != nil || !created {
		t.Fatalf("import: created %v, %v (%+v)", created, err, results)
	}
	if results[0].Account.Status != account.StatusActive || results[1].Account.Status != account.StatusPending {
		t.Fatalf("statuses %s, %s; want ACTIVE, PENDING", results[0].Account.Status, results[1].Account.Status)
	}
	for i, want := range []account.Status{account.StatusActive, account.StatusPending} {
		got, err := a.LookupAccount(ctx, tn.ID, rows[i].ID)
		if err != nil || got.Status != want || (want == account.StatusPending) != (got.ActivatedAt == nil) {
			t.Fatalf("stored row %d: %+v %v, want %s", i, got, err, want)
		}
	}
	var invited []string
	var activations []accountv1.Activation_Value
	for _, tx := range st.take() {
		for _, ev := range tx.emits {
			switch m := ev.Message.(type) {
			case *eventsv1.AccountInvited:
				if ev.Subject != events.AccountInvited {
					t.Fatalf("AccountInvited on %s", ev.Subject)
				}
				invited = append(invited, m.GetAccountId())
			case *eventsv1.AccountCreated:
				if !m.GetImported() {
					t.Fatalf("AccountCreated not marked imported: %v", m)
				}
				activations = append(activations, m.GetActivation())
			}
		}
	}
	if len(invited) != 1 || invited[0] != rows[1].ID {
		t.Fatalf("invited %v, want only %s", invited, rows[1].ID)
	}
	if len(activations) != 2 || activations[1] != accountv1.Activation_EMAIL_LINK {
		t.Fatalf("activations %v, want the pending row's EMAIL_LINK", activations)
	}
}

// Every refused row of an import is reported with its reason, however
// many rows are checked against the store at once, and a refused import
// creates nothing.
func TestImportAccounts_EveryRefusedRowReported(t *testing.T) {
	ctx := context.Background()
	f := newMeFixture(t, account.DefaultPolicy()) // bob@acme.example exists
	rows := []app.ImportRow{
		{ID: ids.New(), Username: "BOB", Email: "other@acme.example", DisplayName: "Bob again"},   // bob's username
		{ID: ids.New(), Username: "robert", Email: "Bob@Acme.example", DisplayName: "Robert"},     // bob's e-mail
		{ID: ids.New(), Username: "bob@acme.example", Email: "b2@acme.example", DisplayName: "B"}, // the row above's e-mail as a username
		{ID: ids.New(), Username: "twin", Email: "twin1@acme.example", DisplayName: "Twin"},
		{ID: ids.New(), Username: "TWIN", Email: "twin2@acme.example", DisplayName: "Twin"}, // the row above's username
	}
	for i := range 40 {
		rows = append(rows, app.ImportRow{ID: ids.New(), Username: fmt.Sprintf("fine%d", i), Email: fmt.Sprintf("fine%d@acme.example", i), DisplayName: "Fine"})
	}
	results, created, err := f.app.ImportAccounts(ctx, f.me.TenantID, rows, false, app.ImportKey{})
	if err != nil || created {
		t.Fatalf("import: created %v, %v", created, err)
	}
	want := map[int]string{0: "LOGIN_TAKEN", 1: "LOGIN_TAKEN", 2: "DUPLICATE_IN_IMPORT", 4: "DUPLICATE_IN_IMPORT"}
	for i, res := range results {
		var reason string
		var e *errs.Error
		if errors.As(res.Err, &e) {
			reason = e.Reason
		}
		if reason != want[i] {
			t.Errorf("row %d (%s, %s): %v, want %q", i, rows[i].Username, rows[i].Email, res.Err, want[i])
		}
	}
	if _, err := f.app.LookupAccount(ctx, f.me.TenantID, rows[10].ID); !errs.Is(err, errs.KindNotFound) {
		t.Fatalf("a row of a refused import was created: %v", err)
	}
}
