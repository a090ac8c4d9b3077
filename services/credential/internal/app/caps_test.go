package app_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/services/credential/internal/app"
	"github.com/latchkey/latchkey/services/credential/internal/credential"
)

// Passwords longer than 1024 bytes and PINs longer than 32 are refused
// naming their field before anything is hashed, wherever they come in.
func TestSecrets_TooLong_RefusedNamingTheField_BeforeAnyHash(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	s := w.account("anna", "Correct-Horse-1", false, credential.Policy{PINEnabled: true, PINLength: 4})
	tokens := w.mustTokens(w.login("anna", "Correct-Horse-1"))
	me := &authn.Principal{Kind: authn.KindAccount, TenantID: s.TenantID, AccountID: s.AccountID, SessionID: tokens.SessionID}
	if err := w.app.SetPIN(ctx, me, "", "Correct-Horse-1", "2580", app.Client{}); err != nil {
		t.Fatal(err)
	}
	long, longPIN := strings.Repeat("a", 1025), strings.Repeat("1", 33)
	for _, tc := range []struct {
		name, field string
		call        func() error
	}{
		{"log-in", "password", func() error { _, err := w.login("anna", long); return err }},
		{"reauth", "password", func() error { _, _, err := w.app.Reauthenticate(ctx, me, long, "", app.Client{}); return err }},
		{"change, current", "currentPassword", func() error { return w.app.ChangePassword(ctx, me, long, "Brand-New-Pass-2", app.Client{}) }},
		{"change, new", "newPassword", func() error { return w.app.ChangePassword(ctx, me, "Correct-Horse-1", long, app.Client{}) }},
		{"reset", "newPassword", func() error { return w.app.SetPasswordAfterReset(ctx, s.TenantID, s.AccountID, long, false) }},
		{"another service's check", "password", func() error { _, err := w.app.VerifyPassword(ctx, s.TenantID, s.AccountID, long); return err }},
		{"PIN log-in", "pin", func() error {
			_, err := w.app.LoginWithPIN(ctx, app.PINLoginRequest{DeviceKey: "some-key", PIN: longPIN})
			return err
		}},
		{"PIN change, current PIN", "currentPin", func() error { return w.app.SetPIN(ctx, me, longPIN, "", "1470", app.Client{}) }},
		{"PIN change, password", "currentPassword", func() error { return w.app.SetPIN(ctx, me, "", long, "1470", app.Client{}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w.hash.calls.Store(0)
			err := tc.call()
			var e *errs.Error
			if !errors.As(err, &e) || e.Kind != errs.KindInvalid || len(e.Fields) == 0 || e.Fields[0].Field != tc.field {
				t.Fatalf("got %v, want InvalidArgument naming %s", err, tc.field)
			}
			if n := w.hash.calls.Load(); n != 0 {
				t.Fatalf("%d hashes computed for a refused input, want none", n)
			}
		})
	}
}

// A full hash pool is the same Unavailable answer for a known and an
// unknown account, and a refused attempt is not counted as a failure.
func TestLogin_BusyHasher_UnavailableForAll_NothingCounted(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	s := w.account("anna", "Correct-Horse-1", false, credential.Policy{MaxFailedAttempts: 3})
	w.hash.busy = true
	for i := 0; i < 5; i++ {
		for _, user := range []string{"anna", "nobody"} {
			_, err := w.login(user, "Correct-Horse-1")
			wantReason(t, err, "PASSWORD_HASHER_BUSY")
		}
	}
	if st, err := w.app.GetPasswordStatus(ctx, s.TenantID, s.AccountID); err != nil || st.FailedCount != 0 {
		t.Fatalf("failed count after busy refusals: %+v %v, want 0", st, err)
	}
	w.hash.busy = false
	w.mustTokens(w.login("anna", "Correct-Horse-1"))
	if w.dir.lockouts != 0 {
		t.Fatal("busy refusals locked the account")
	}
}
