package app_test

import (
	"context"
	"testing"

	"github.com/latchkey/latchkey/libs/authn"
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
