package allinone_test

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

// J3: mobile users unlock the app with a PIN on a device where they logged
// in with the password; they change it with the current PIN; wrong PINs
// end the device's key.
func TestPIN_UnlockChangeAndFiveWrongRevokeTheDevice(t *testing.T) {
	eachStore(t, func(t *testing.T, op client, _ string) {
		code := tenantWithAdmin(t, op, map[string]any{"pin": map[string]any{"enabled": true, "length": 5}})
		anon := client{t: t, base: op.base}
		finishFirstLogin(t, anon, code)
		st, body := anon.do("POST", "/v1/auth/login", map[string]any{"tenant": code, "username": "admin", "password": "Much-Better-Pass-1", "deviceName": "Jan's phone"})
		if st != 200 || body["deviceKey"] == nil {
			t.Fatalf("log-in naming the device: %d %v, want a device key", st, body)
		}
		deviceKey := body["deviceKey"].(string)
		me := client{t: t, base: op.base, token: body["accessToken"].(string)}

		for _, bad := range []string{"12345", "11111", "1234", "12a45"} {
			if st, body := me.do("PUT", "/v1/me/pin", map[string]any{"currentPassword": "Much-Better-Pass-1", "newPin": bad}); st != 400 || !slices.Contains(fieldViolations(body), "newPin") {
				t.Fatalf("PIN %s: %d %v, want 400 naming newPin", bad, st, body)
			}
		}
		if st, body := me.do("PUT", "/v1/me/pin", map[string]any{"newPin": "48206"}); st != 400 || !slices.Contains(fieldViolations(body), "currentPassword") {
			t.Fatalf("first PIN without the password: %d %v", st, body)
		}
		pinSet := func() any {
			_, body := me.do("GET", "/v1/me", nil)
			sec, _ := body["security"].(map[string]any)
			return sec["pinSet"]
		}
		if got := pinSet(); got == true {
			t.Fatalf("GET /v1/me before a PIN: pinSet %v", got)
		}
		if st, body := me.do("PUT", "/v1/me/pin", map[string]any{"currentPassword": "Much-Better-Pass-1", "newPin": "48206"}); st != 200 {
			t.Fatalf("set PIN: %d %v", st, body)
		}
		if got := pinSet(); got != true {
			t.Fatalf("GET /v1/me after setting a PIN: pinSet %v, want true (the pages then ask the current PIN to change it)", got)
		}
		st, body = anon.do("POST", "/v1/auth/login:pin", map[string]any{"deviceKey": deviceKey, "pin": "48206"})
		if st != 200 || body["accessToken"] == nil {
			t.Fatalf("unlock with the PIN: %d %v", st, body)
		}
		if st, body := me.do("PUT", "/v1/me/pin", map[string]any{"currentPin": "11110", "newPin": "59317"}); st != 400 || !slices.Contains(fieldViolations(body), "currentPin") {
			t.Fatalf("change with a wrong current PIN: %d %v", st, body)
		}
		if st, body := me.do("PUT", "/v1/me/pin", map[string]any{"currentPin": "48206", "newPin": "59317"}); st != 200 {
			t.Fatalf("change PIN with the current PIN: %d %v", st, body)
		}
		if st, _ := anon.do("POST", "/v1/auth/login:pin", map[string]any{"deviceKey": deviceKey, "pin": "48206"}); st != 401 {
			t.Fatalf("old PIN: %d, want 401", st)
		}
		if st, _ := anon.do("POST", "/v1/auth/login:pin", map[string]any{"deviceKey": deviceKey, "pin": "59317"}); st != 200 {
			t.Fatalf("new PIN: %d, want 200", st)
		}
		for i := 0; i < 5; i++ {
			anon.do("POST", "/v1/auth/login:pin", map[string]any{"deviceKey": deviceKey, "pin": "00000"})
		}
		if st, _ := anon.do("POST", "/v1/auth/login:pin", map[string]any{"deviceKey": deviceKey, "pin": "59317"}); st != 401 {
			t.Fatalf("right PIN after five wrong ones: %d, want 401 (the device key is revoked)", st)
		}
		if st, _ := anon.do("POST", "/v1/auth/login:pin", map[string]any{"deviceKey": "made-up", "pin": "59317"}); st != 401 {
			t.Fatalf("unknown device key: %d, want 401", st)
		}
	})
}

func TestPIN_RefusedWhereTheTenantDoesNotUseThem(t *testing.T) {
	eachStore(t, func(t *testing.T, op client, _ string) {
		code := tenantWithAdmin(t, op, nil)
		anon := client{t: t, base: op.base}
		tokens := finishFirstLogin(t, anon, code)
		if tokens["deviceKey"] != nil {
			t.Fatalf("device key handed out without PINs: %v", tokens)
		}
		me := client{t: t, base: op.base, token: tokens["accessToken"].(string)}
		if st, body := me.do("PUT", "/v1/me/pin", map[string]any{"currentPassword": "Much-Better-Pass-1", "newPin": "48206"}); st != 400 {
			t.Fatalf("set PIN where disabled: %d %v, want 400 PIN_DISABLED", st, body)
		}
	})
}

// A stolen device key: of 100 parallel wrong PINs none gets in and the
// right PIN after them is refused too (the limit's attempts are counted
// before the PIN is checked). The sessions list says which session has a
// PIN key, and a password change ends the keys.
func TestPIN_ParallelGuessesWithAStolenKey_TheRightOneRefusedAfter(t *testing.T) {
	eachStore(t, func(t *testing.T, op client, _ string) {
		code := tenantWithAdmin(t, op, map[string]any{"pin": map[string]any{"enabled": true, "length": 5}})
		anon := client{t: t, base: op.base}
		finishFirstLogin(t, anon, code)
		phone := func() (string, client) {
			t.Helper()
			st, body := anon.do("POST", "/v1/auth/login", map[string]any{"tenant": code, "username": "admin", "password": "Much-Better-Pass-1", "deviceName": "phone"})
			if st != 200 || body["deviceKey"] == nil {
				t.Fatalf("log-in naming the phone: %d %v", st, body)
			}
			return body["deviceKey"].(string), client{t: t, base: op.base, token: body["accessToken"].(string)}
		}
		key, me := phone()
		if st, body := me.do("PUT", "/v1/me/pin", map[string]any{"currentPassword": "Much-Better-Pass-1", "newPin": "48206"}); st != 200 {
			t.Fatalf("set PIN: %d %v", st, body)
		}
		var wg sync.WaitGroup
		var won, other atomic.Int32
		for i := range 100 {
			wg.Go(func() {
				st, _ := anon.do("POST", "/v1/auth/login:pin", map[string]any{"deviceKey": key, "pin": fmt.Sprintf("%05d", 30000+i)})
				switch st {
				case 200:
					won.Add(1)
				case 401:
				default:
					other.Add(1)
				}
			})
		}
		wg.Wait()
		if won.Load() != 0 || other.Load() != 0 {
			t.Fatalf("100 wrong PINs: %d let in, %d answers not 401", won.Load(), other.Load())
		}
		if st, body := anon.do("POST", "/v1/auth/login:pin", map[string]any{"deviceKey": key, "pin": "48206"}); st != 401 {
			t.Fatalf("right PIN after 100 wrong ones: %d %v, want 401", st, body)
		}

		key, me = phone()
		_, body := me.do("GET", "/v1/me/sessions", nil)
		withKey := 0
		for _, s := range items(body, "sessions") {
			if s.(map[string]any)["pinEnabled"] == true {
				withKey++
			}
		}
		if withKey != 1 {
			t.Fatalf("sessions with a PIN key: %d, want 1 (the new phone log-in): %v", withKey, body)
		}
		if st, body := me.do("POST", "/v1/me/password", map[string]any{"currentPassword": "Much-Better-Pass-1", "newPassword": "Another-Good-Pass-2"}); st != 200 {
			t.Fatalf("change password: %d %v", st, body)
		}
		if st, _ := anon.do("POST", "/v1/auth/login:pin", map[string]any{"deviceKey": key, "pin": "48206"}); st != 401 {
			t.Fatalf("PIN after a password change: %d, want 401 (the key ended with the old password)", st)
		}
	})
}
