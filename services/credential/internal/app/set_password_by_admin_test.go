package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/ids"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
	"github.com/latchkey/latchkey/services/credential/internal/app"
	"github.com/latchkey/latchkey/services/credential/internal/credential"
)

type withMeta interface{ GetMeta() *eventsv1.EventMeta }

// An administrator's new password, the revocation of the user's sessions
// and their events are one transaction, so no failure can leave a changed
// password without its event; the events carry the time of the change,
// the one stored with the password, not a time taken before the hash.
func TestAdminSetPassword_OneTransaction_EventsStampedAtTheChange(t *testing.T) {
	for _, temporary := range []bool{false, true} {
		t.Run(map[bool]string{false: "final", true: "temporary"}[temporary], func(t *testing.T) {
			w := newWorld(t)
			s := w.account("anna", "Correct-Horse-1", false, credential.Policy{})
			w.mustTokens(w.login("anna", "Correct-Horse-1"))
			admin := &authn.Principal{Kind: authn.KindAccount, TenantID: s.TenantID, AccountID: "admin", Roles: []string{"ADMIN"}}
			// Every transaction starts a minute later than asked, as a
			// wait for a lock or a busy hash pool would make it.
			w.store.onTx = func() { w.clock.Advance(time.Minute) }
			w.store.reset()
			if err := w.app.AdminSetPassword(context.Background(), admin, s.AccountID, "Set-By-Admin-Pass-1", temporary); err != nil {
				t.Fatal(err)
			}
			if n := w.store.txs.Load(); n != 1 {
				t.Fatalf("transactions = %d, want 1", n)
			}
			pw, err := w.store.Store.GetPassword(context.Background(), s.TenantID, s.AccountID)
			if err != nil || pw.Temporary != temporary {
				t.Fatalf("password %+v %v", pw, err)
			}
			set, revoked := w.store.eventsOf("password_set_by_admin"), w.store.eventsOf("session.revoked")
			if len(set) != 1 || len(revoked) != 1 || set[0].tx != 1 || revoked[0].tx != 1 {
				t.Fatalf("events: set %v, revoked %v; want one of each in the change's transaction", set, revoked)
			}
			for _, c := range []committed{set[0], revoked[0]} {
				if at := c.event.Message.(withMeta).GetMeta().GetOccurTime().AsTime(); !at.Equal(pw.ChangedAt) {
					t.Errorf("%s at %v, the password changed at %v", c.event.Subject, at, pw.ChangedAt)
				}
			}
		})
	}
}

// A user's own change: the password, its PasswordChanged event and the
// revocation of the other sessions are one transaction at one time.
func TestChangePassword_OneTransaction_EventStampedAtTheChange(t *testing.T) {
	w := newWorld(t)
	s := w.account("anna", "Correct-Horse-1", false, credential.Policy{HistoryCount: 2})
	mine := w.mustTokens(w.login("anna", "Correct-Horse-1"))
	w.mustTokens(w.login("anna", "Correct-Horse-1")) // another device
	me := &authn.Principal{Kind: authn.KindAccount, TenantID: s.TenantID, AccountID: s.AccountID, SessionID: mine.SessionID}
	w.store.onTx = func() { w.clock.Advance(time.Minute) }
	w.store.reset()
	if err := w.app.ChangePassword(context.Background(), me, "Correct-Horse-1", "Brand-New-Pass-2", app.Client{}); err != nil {
		t.Fatal(err)
	}
	pw, err := w.store.Store.GetPassword(context.Background(), s.TenantID, s.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	changed, revoked := w.store.eventsOf("password_changed"), w.store.eventsOf("session.revoked")
	if len(changed) != 1 || len(revoked) != 1 || changed[0].tx != revoked[0].tx {
		t.Fatalf("events: changed %v, revoked %v; want one each, in one transaction", changed, revoked)
	}
	if at := changed[0].event.Message.(withMeta).GetMeta().GetOccurTime().AsTime(); !at.Equal(pw.ChangedAt) {
		t.Fatalf("PasswordChanged at %v, the password changed at %v", at, pw.ChangedAt)
	}
	if got := revoked[0].event.Message.(*eventsv1.SessionRevoked).GetSessionId(); got == mine.SessionID {
		t.Fatal("the caller's own session was revoked")
	}
}

// An administrator of the platform tenant cannot take an operator's
// account over by setting its password; operators can.
func TestAdminSetPassword_OperatorAccountsOnlyByOperators(t *testing.T) {
	w := newWorld(t)
	op := w.account("root", "Operator-Pass-1", false, credential.Policy{})
	op.Roles = []string{authn.RoleOperator, authn.RoleAdmin}
	w.dir.add(op)
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		p      *authn.Principal
		reason string
	}{
		{"platform ADMIN", &authn.Principal{Kind: authn.KindAccount, TenantID: op.TenantID, AccountID: ids.New(), Roles: []string{authn.RoleAdmin}}, authn.ReasonOperatorAccount},
		{"OPERATOR account", &authn.Principal{Kind: authn.KindAccount, TenantID: op.TenantID, AccountID: ids.New(), Roles: []string{authn.RoleOperator, authn.RoleAdmin}}, ""},
		{"operator token", &authn.Principal{Kind: authn.KindOperatorToken, TenantCode: "acme"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := w.app.AdminSetPassword(ctx, c.p, op.AccountID, "Taken-Over-Pass-9", true)
			if c.reason == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantReason(t, err, c.reason)
			if !errs.Is(err, errs.KindPermissionDenied) {
				t.Fatalf("kind of %v, want PermissionDenied", err)
			}
			if _, err := w.login("root", "Taken-Over-Pass-9"); err == nil {
				t.Fatal("the refused password works")
			}
		})
	}
}
