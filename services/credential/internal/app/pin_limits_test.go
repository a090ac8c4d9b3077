package app_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/testkit"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
	"github.com/latchkey/latchkey/services/credential/internal/app"
	"github.com/latchkey/latchkey/services/credential/internal/credential"
)

// pinWorld is an account of a tenant that uses PINs, signed in on a
// phone (whose device key it returns) with the PIN 2580.
func pinWorld(t *testing.T, db dbx.DB) (*world, *authn.Principal, string) {
	t.Helper()
	w := newWorldOn(t, db)
	ctx := context.Background()
	s := w.account("anna", "Correct-Horse-1", false, credential.Policy{MaxFailedAttempts: 5, PINEnabled: true, PINLength: 4})
	tokens := w.mustTokens(w.app.Login(ctx, app.LoginRequest{Tenant: "acme", Username: "anna", Password: "Correct-Horse-1", DeviceName: "phone"}))
	me := &authn.Principal{Kind: authn.KindAccount, TenantID: s.TenantID, AccountID: s.AccountID, SessionID: tokens.SessionID}
	if err := w.app.SetPIN(ctx, me, "", "Correct-Horse-1", "2580", app.Client{}); err != nil {
		t.Fatal(err)
	}
	return w, me, tokens.DeviceKey
}

// inFlight runs n calls at once, each held inside the hasher until every
// call has either returned or reached it, so that no call can see what
// another one's check did; it returns how many calls succeeded.
func inFlight(t *testing.T, w *world, n int, call func(i int) error) int {
	t.Helper()
	w.hash.gate = make(chan struct{})
	w.hash.verified.Store(0)
	var returned, won atomic.Int64
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if call(i) == nil {
				won.Add(1)
			}
			returned.Add(1)
		})
	}
	for deadline := time.Now().Add(10 * time.Second); returned.Load()+w.hash.inside.Load() < int64(n); {
		if time.Now().After(deadline) {
			t.Fatalf("calls neither returned nor waiting in the hasher: %d of %d", returned.Load()+w.hash.inside.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
	close(w.hash.gate)
	wg.Wait()
	w.hash.gate = nil
	w.hash.inside.Store(0)
	return int(won.Load())
}

// A stolen device key and 100 parallel wrong PINs: exactly
// credential.MaxPINFailures of them are checked, the last wrong one
// revokes the key, and then the right PIN is refused too.
func TestLoginWithPIN_ParallelWrongPINs_NoMoreChecksThanTheLimit(t *testing.T) {
	testkit.EachDialect(t, "credential", func(t *testing.T, db dbx.DB) {
		w, _, key := pinWorld(t, db)
		ctx := context.Background()
		w.store.reset()
		w.store.deviceAttempts.Store(0)
		won := inFlight(t, w, 100, func(i int) error {
			_, err := w.app.LoginWithPIN(ctx, app.PINLoginRequest{DeviceKey: key, PIN: fmt.Sprintf("%04d", 3000+i)})
			return err
		})
		if won != 0 {
			t.Fatalf("%d wrong PINs let in", won)
		}
		if got := w.hash.verified.Load(); got != credential.MaxPINFailures {
			t.Fatalf("%d PINs checked, want exactly %d", got, credential.MaxPINFailures)
		}
		if got := w.store.deviceAttempts.Load(); got != credential.MaxPINFailures {
			t.Fatalf("%d attempts let through by the store, want %d", got, credential.MaxPINFailures)
		}
		failed := w.store.eventsOf("login_failed")
		if len(failed) != credential.MaxPINFailures || failed[0].event.Message.(*eventsv1.LoginFailed).GetReason() != "WRONG_PIN" {
			t.Fatalf("LoginFailed events %v, want %d WRONG_PIN", failed, credential.MaxPINFailures)
		}
		_, err := w.app.LoginWithPIN(ctx, app.PINLoginRequest{DeviceKey: key, PIN: "2580"})
		wantReason(t, err, "DEVICE_OR_PIN_INVALID")
		if n := len(w.store.eventsOf("login_succeeded")); n != 0 {
			t.Fatalf("%d PIN log-ins succeeded after the limit", n)
		}
	})
}

// The current PIN given to change the PIN is counted the same way: of 100
// parallel wrong ones exactly the limit is checked, and then the right
// one no longer changes it (the password still does).
func TestSetPIN_ParallelWrongCurrentPINs_NoMoreChecksThanTheLimit(t *testing.T) {
	testkit.EachDialect(t, "credential", func(t *testing.T, db dbx.DB) {
		w, me, _ := pinWorld(t, db)
		ctx := context.Background()
		won := inFlight(t, w, 100, func(i int) error {
			return w.app.SetPIN(ctx, me, fmt.Sprintf("%04d", 3000+i), "", "1470", app.Client{})
		})
		if won != 0 {
			t.Fatalf("%d wrong current PINs changed the PIN", won)
		}
		if got := w.hash.verified.Load(); got != credential.MaxPINFailures {
			t.Fatalf("%d current PINs checked, want exactly %d", got, credential.MaxPINFailures)
		}
		wantReason(t, w.app.SetPIN(ctx, me, "2580", "", "1470", app.Client{}), "PIN_ATTEMPTS_EXHAUSTED")
		if err := w.app.SetPIN(ctx, me, "", "Correct-Horse-1", "1470", app.Client{}); err != nil {
			t.Fatalf("PIN change with the password after the limit: %v", err)
		}
		if err := w.app.SetPIN(ctx, me, "1470", "", "3692", app.Client{}); err != nil {
			t.Fatalf("PIN change with the new current PIN: %v, want the count started afresh", err)
		}
	})
}

// What ends earlier proofs ends the device keys: the user's own password
// change, a reset by an admin, a lock or a disabled account
// (RevokeAllSessions), and the end of the session the key came with. The
// sessions list says which sessions have a live key.
func TestPINKeys_EndWithThePasswordTheLockAndTheirSession(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		end  func(w *world, me *authn.Principal, other string) error
	}{
		{"own password change", func(w *world, me *authn.Principal, _ string) error {
			return w.app.ChangePassword(ctx, me, "Correct-Horse-1", "Brand-New-Pass-2", app.Client{})
		}},
		{"lock or disable", func(w *world, me *authn.Principal, _ string) error {
			_, err := w.app.RevokeAllSessions(ctx, me.TenantID, me.AccountID, "ACCOUNT_DISABLED")
			return err
		}},
		{"the session deleted", func(w *world, me *authn.Principal, _ string) error {
			return w.app.RevokeSession(ctx, me, me.SessionID)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, me, key := pinWorld(t, testkit.OpenSQLite(t, "credential"))
			other := w.mustTokens(w.login("anna", "Correct-Horse-1")) // a browser: no key
			list, err := w.app.ListSessions(ctx, me)
			if err != nil || len(list) != 2 {
				t.Fatalf("sessions: %v %v", list, err)
			}
			for _, s := range list {
				if s.PINKey != (s.ID == me.SessionID) {
					t.Fatalf("session %s (phone: %v) PINKey = %v", s.ID, s.ID == me.SessionID, s.PINKey)
				}
			}
			if err := tc.end(w, me, other.SessionID); err != nil {
				t.Fatal(err)
			}
			_, err = w.app.LoginWithPIN(ctx, app.PINLoginRequest{DeviceKey: key, PIN: "2580"})
			wantReason(t, err, "DEVICE_OR_PIN_INVALID")
		})
	}
	t.Run("another session deleted keeps the key", func(t *testing.T) {
		w, me, key := pinWorld(t, testkit.OpenSQLite(t, "credential"))
		other := w.mustTokens(w.login("anna", "Correct-Horse-1"))
		if err := w.app.RevokeSession(ctx, me, other.SessionID); err != nil {
			t.Fatal(err)
		}
		w.mustTokens(w.app.LoginWithPIN(ctx, app.PINLoginRequest{DeviceKey: key, PIN: "2580"}))
	})
}
