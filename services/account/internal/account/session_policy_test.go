package account

import (
	"slices"
	"testing"
)

func TestPolicyValidate_SessionBounds(t *testing.T) {
	def := DefaultPolicy().Session
	if def.MaxLifetimeHours != 720 || def.IdleHours != 336 {
		t.Fatalf("default session policy = %+v, want 720 h lifetime and 336 h idle", def)
	}
	for _, tc := range []struct {
		name      string
		life, idl int
		want      []string
	}{
		{"defaults", 720, 336, nil},
		{"an hour each", 1, 1, nil},
		{"a year each", 8760, 8760, nil},
		{"zero lifetime", 0, 336, []string{"policy.session.maxLifetimeHours"}},
		{"negative idle", 720, -1, []string{"policy.session.idleHours"}},
		{"over a year", 8761, 8761, []string{"policy.session.maxLifetimeHours", "policy.session.idleHours"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := DefaultPolicy()
			p.Session = SessionPolicy{MaxLifetimeHours: tc.life, IdleHours: tc.idl}
			if got := fields(p.Validate("policy")); !slices.Equal(got, tc.want) {
				t.Fatalf("fields = %v, want %v", got, tc.want)
			}
		})
	}
}
