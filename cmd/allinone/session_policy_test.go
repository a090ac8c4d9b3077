package allinone_test

import (
	"slices"
	"testing"
	"time"

	"github.com/latchkey/latchkey/cmd/allinone"
	"github.com/latchkey/latchkey/libs/clock"
)

// The tenant's session policy ends sessions at refresh: unused for
// session.idleHours, or session.maxLifetimeHours after the log-in however
// often refreshed.
func TestSessionPolicy_IdleAndLifetimeEndSessionsAtRefresh(t *testing.T) {
	eachStoreWithClock(t, func(t *testing.T, op client, _ *allinone.Instance, clk *clock.Fake) {
		code, _, admin := adminTenant(t, op, map[string]any{"session": map[string]any{"maxLifetimeHours": 5, "idleHours": 2}})
		_, body := admin.do("GET", "/v1/admin/tenant", nil)
		session, _ := body["tenant"].(map[string]any)["policy"].(map[string]any)["session"].(map[string]any)
		if session["maxLifetimeHours"] != float64(5) || session["idleHours"] != float64(2) {
			t.Fatalf("stored session policy = %v", session)
		}
		if st, body := admin.do("PATCH", "/v1/admin/tenant/policy", map[string]any{"session": map[string]any{"idleHours": 0}}); st != 400 ||
			!slices.Contains(fieldViolations(body), "policy.session.idleHours") {
			t.Fatalf("idleHours 0: %d %v, want 400 naming it", st, body)
		}
		anon := client{t: t, base: op.base}
		_, tokens := userWithPassword(t, admin, code, "shift", "Night-Owl-Rota-26")
		refresh := func() (int, map[string]any) {
			st, body := anon.do("POST", "/v1/auth/token:refresh", map[string]any{"refreshToken": tokens["refreshToken"]})
			if st == 200 {
				tokens = body
			}
			return st, body
		}
		for i := range 4 { // refreshed every 90 minutes: 6 hours in all
			clk.Advance(90 * time.Minute)
			st, body := refresh()
			if i < 3 && st != 200 {
				t.Fatalf("refresh after %v: %d %v", time.Duration(i+1)*90*time.Minute, st, body)
			}
			if i == 3 && (st != 401 || reasonOf(body) != "SESSION_EXPIRED") {
				t.Fatalf("refresh 6 h after the log-in: %d %v, want 401 SESSION_EXPIRED", st, body)
			}
		}
		_, tokens = login(anon, code, "shift", "Night-Owl-Rota-26")
		clk.Advance(2 * time.Hour)
		if st, body := refresh(); st != 401 || reasonOf(body) != "SESSION_IDLE" {
			t.Fatalf("refresh after 2 h unused: %d %v, want 401 SESSION_IDLE", st, body)
		}
	})
}
