package app_test

import (
	"context"
	"testing"

	"github.com/latchkey/latchkey/libs/authn"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
	"github.com/latchkey/latchkey/services/credential/internal/app"
	"github.com/latchkey/latchkey/services/credential/internal/credential"
)

// LoginSucceeded.new_device is true when the account signed in before,
// never from this device (name and user agent); so the new-device notice
// goes out for a new browser or phone, not for the account's first log-in
// nor for a PIN unlock of a known device.
func TestLogin_NewDeviceIsAnAccountsFirstLogInFromIt(t *testing.T) {
	w := newWorld(t)
	s := w.account("anna", "Correct-Horse-1", false, credential.Policy{PINEnabled: true, PINLength: 4})
	ctx := context.Background()
	from := func(device, agent string) *app.Tokens {
		t.Helper()
		return w.mustTokens(w.app.Login(ctx, app.LoginRequest{Tenant: "acme", Username: "anna", Password: "Correct-Horse-1",
			DeviceName: device, Client: app.Client{IP: "192.0.2.9", UserAgent: agent}}))
	}
	lastNew := func() bool {
		t.Helper()
		evs := w.store.eventsOf("login_succeeded")
		return evs[len(evs)-1].event.Message.(*eventsv1.LoginSucceeded).GetNewDevice()
	}
	for _, step := range []struct {
		name, device, agent string
		want                bool
	}{
		{"the account's first log-in", "", "Firefox/140", false},
		{"the same browser again", "", "Firefox/140", false},
		{"another browser", "", "Chrome/141", true},
		{"that browser again", "", "Chrome/141", false},
		{"a named phone", "Pixel 9", "LatchkeyApp/1.0", true},
	} {
		tokens := from(step.device, step.agent)
		if got := lastNew(); got != step.want {
			t.Fatalf("%s: new_device = %v, want %v", step.name, got, step.want)
		}
		if step.device != "" {
			me := &authn.Principal{Kind: authn.KindAccount, TenantID: s.TenantID, AccountID: s.AccountID, SessionID: tokens.SessionID}
			if err := w.app.SetPIN(ctx, me, "", "Correct-Horse-1", "2580", app.Client{}); err != nil {
				t.Fatal(err)
			}
			w.mustTokens(w.app.LoginWithPIN(ctx, app.PINLoginRequest{DeviceKey: tokens.DeviceKey, PIN: "2580",
				Client: app.Client{UserAgent: "LatchkeyApp/1.1"}}))
			if lastNew() {
				t.Fatal("a PIN unlock of a known device: new_device = true")
			}
		}
	}
}
