package app_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/testkit"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
	"github.com/latchkey/latchkey/services/credential/internal/app"
	"github.com/latchkey/latchkey/services/credential/internal/credential"
)

// wireStatus is err as a client receives it: the gRPC status message with
// its code, message and details.
func wireStatus(t *testing.T, err error) proto.Message {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) {
		t.Fatalf("want a domain error, got %v", err)
	}
	return e.GRPCStatus().Proto()
}

// While an account is locked or disabled its password, PIN and current
// PIN are not checked: the right one and a wrong one get byte for byte
// the wrong one's answer (the same as an unknown account's, for the
// log-in), nothing more is counted, and a LoginFailed says why for the
// tenant's audit.
func TestLockedOrDisabled_SecretsNotChecked_AnsweredAsWrong(t *testing.T) {
	for _, tc := range []struct {
		status string
		reason string
	}{{credential.StatusLocked, "ACCOUNT_LOCKED"}, {credential.StatusDisabled, "ACCOUNT_DISABLED"}} {
		t.Run(tc.reason, func(t *testing.T) {
			w := newWorld(t)
			ctx := context.Background()
			s := w.account("anna", "Correct-Horse-1", false, credential.Policy{MaxFailedAttempts: 3, PINEnabled: true, PINLength: 4})
			tokens := w.mustTokens(w.app.Login(ctx, app.LoginRequest{Tenant: "acme", Username: "anna", Password: "Correct-Horse-1",
				DeviceName: "phone"}))
			me := &authn.Principal{Kind: authn.KindAccount, TenantID: s.TenantID, AccountID: s.AccountID, SessionID: tokens.SessionID}
			if err := w.app.SetPIN(ctx, me, "", "Correct-Horse-1", "2580", app.Client{}); err != nil {
				t.Fatal(err)
			}
			w.dir.mu.Lock()
			w.dir.accounts[s.AccountID].Status = tc.status
			w.dir.mu.Unlock()
			w.store.reset()

			_, unknown := w.login("nobody", "Correct-Horse-1")
			_, right := w.login("anna", "Correct-Horse-1")
			_, wrong := w.login("anna", "wrong")
			for name, err := range map[string]error{"right password": right, "wrong password": wrong} {
				if !proto.Equal(wireStatus(t, err), wireStatus(t, unknown)) {
					t.Errorf("log-in, %s: %v; want the unknown account's answer %v", name, err, unknown)
				}
			}
			_, _, rightRe := w.app.Reauthenticate(ctx, me, "Correct-Horse-1", "", app.Client{})
			_, _, wrongRe := w.app.Reauthenticate(ctx, me, "wrong", "", app.Client{})
			if !proto.Equal(wireStatus(t, rightRe), wireStatus(t, wrongRe)) {
				t.Errorf("reauth: right %v, wrong %v; want one answer", rightRe, wrongRe)
			}
			_, rightPIN := w.app.LoginWithPIN(ctx, app.PINLoginRequest{DeviceKey: tokens.DeviceKey, PIN: "2580"})
			_, wrongPIN := w.app.LoginWithPIN(ctx, app.PINLoginRequest{DeviceKey: tokens.DeviceKey, PIN: "1397"})
			_, unknownPIN := w.app.LoginWithPIN(ctx, app.PINLoginRequest{DeviceKey: "no-such-device-key", PIN: "2580"})
			if !proto.Equal(wireStatus(t, rightPIN), wireStatus(t, unknownPIN)) || !proto.Equal(wireStatus(t, wrongPIN), wireStatus(t, unknownPIN)) {
				t.Errorf("PIN log-in: right %v, wrong %v; want an unknown device's %v", rightPIN, wrongPIN, unknownPIN)
			}
			rightChange := w.app.SetPIN(ctx, me, "2580", "", "1470", app.Client{})
			wrongChange := w.app.SetPIN(ctx, me, "1397", "", "1470", app.Client{})
			if !proto.Equal(wireStatus(t, rightChange), wireStatus(t, wrongChange)) {
				t.Errorf("PIN change: right %v, wrong %v; want one answer", rightChange, wrongChange)
			}

			var reasons []string
			for _, c := range w.store.eventsOf("login_failed") {
				ev := c.event.Message.(*eventsv1.LoginFailed)
				if ev.GetAccountId() == s.AccountID {
					reasons = append(reasons, ev.GetReason())
				}
			}
			if len(reasons) != 8 {
				t.Fatalf("LoginFailed reasons %v, want 8 (2 log-ins, 2 reauths, 2 PIN log-ins, 2 PIN changes)", reasons)
			}
			for _, r := range reasons {
				if r != tc.reason {
					t.Fatalf("LoginFailed reasons %v, want each %s", reasons, tc.reason)
				}
			}
			if st, err := w.app.GetPasswordStatus(ctx, s.TenantID, s.AccountID); err != nil || st.FailedCount != 0 {
				t.Fatalf("failed count %+v %v, want nothing counted", st, err)
			}
			if n := len(w.store.eventsOf("login_succeeded")); n != 0 || w.dir.lockouts != 0 {
				t.Fatalf("%d log-ins succeeded, %d lockouts; want none", n, w.dir.lockouts)
			}
		})
	}
}

// A ticket given before the account was locked or disabled is void: the
// step's answer is refused as for a spent ticket, without telling why.
func TestContinueLogin_AccountLockedSinceTheTicket_TicketInvalid(t *testing.T) {
	for _, status := range []string{credential.StatusLocked, credential.StatusDisabled} {
		w := newWorld(t)
		s := w.account("anna", "Temporary-Pass-1", true, credential.Policy{})
		ticket := w.mustStep(w.login("anna", "Temporary-Pass-1"))(credential.StepChangePassword)
		w.dir.mu.Lock()
		w.dir.accounts[s.AccountID].Status = status
		w.dir.mu.Unlock()
		_, err := w.cont(app.ContinueRequest{Ticket: ticket, NewPassword: "Brand-New-Pass-2"})
		wantReason(t, err, "LOGIN_TICKET_INVALID")
	}
}

// 100 parallel wrong passwords that all looked the account up while it
// was still active get no more checks than the tenant's limit: the rest
// are refused unchecked, as on a locked account (the count's own lock
// holds before the account service has recorded it).
func TestLogin_ParallelWrongPasswords_NoMoreChecksThanTheLimit(t *testing.T) {
	testkit.EachDialect(t, "credential", func(t *testing.T, db dbx.DB) {
		w := newWorldOn(t, db)
		w.account("anna", "Correct-Horse-1", false, credential.Policy{MaxFailedAttempts: 3, LockoutMinutes: 15})
		won := inFlight(t, w, 100, func(int) error { _, err := w.login("anna", "wrong"); return err })
		if won != 0 || w.hash.verified.Load() != 3 {
			t.Fatalf("%d let in, %d passwords checked; want 0 and exactly 3", won, w.hash.verified.Load())
		}
		if w.dir.lockouts != 1 {
			t.Fatalf("%d lockouts, want 1", w.dir.lockouts)
		}
	})
}

// The count's lock ends with the tenant's lockout minutes (the account
// service unlocks at the same time), and counting starts afresh; until
// then even an account the account service calls active has no password
// checked.
func TestLogin_LockOfTheCountEndsWithTheLockoutMinutes(t *testing.T) {
	w := newWorld(t)
	s := w.account("anna", "Correct-Horse-1", false, credential.Policy{MaxFailedAttempts: 2, LockoutMinutes: 15})
	for range 2 {
		_, err := w.login("anna", "wrong")
		wantReason(t, err, "INVALID_CREDENTIALS")
	}
	setStatus := func(status string) {
		w.dir.mu.Lock()
		w.dir.accounts[s.AccountID].Status = status
		w.dir.mu.Unlock()
	}
	setStatus(credential.StatusActive) // as if the account service's lock were lost
	w.hash.verified.Store(0)
	_, err := w.login("anna", "Correct-Horse-1")
	wantReason(t, err, "INVALID_CREDENTIALS")
	if n := w.hash.verified.Load(); n != 0 {
		t.Fatalf("%d passwords checked during the lock, want none", n)
	}
	w.clock.Advance(15 * time.Minute)
	w.mustTokens(w.login("anna", "Correct-Horse-1"))
}
