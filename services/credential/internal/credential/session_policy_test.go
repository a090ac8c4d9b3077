package credential

import (
	"testing"
	"time"
)

func TestSessionEnded_LifetimeFromLogInIdleFromLastUse(t *testing.T) {
	login := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	p := SessionPolicy{MaxLifetime: 48 * time.Hour, Idle: 8 * time.Hour}
	for _, tc := range []struct {
		name     string
		lastUsed time.Time
		now      time.Time
		policy   SessionPolicy
		want     string
	}{
		{"fresh", login, login.Add(time.Hour), p, ""},
		{"idle just under the bound", login, login.Add(8*time.Hour - time.Second), p, ""},
		{"idle at the bound", login, login.Add(8 * time.Hour), p, ReasonSessionIdle},
		{"used recently, within the lifetime", login.Add(40 * time.Hour), login.Add(47 * time.Hour), p, ""},
		{"used recently, past the lifetime: refreshes do not stretch it", login.Add(47 * time.Hour), login.Add(48 * time.Hour), p, ReasonSessionExpired},
		{"past both: expiry wins", login, login.Add(100 * time.Hour), p, ReasonSessionExpired},
		{"unset policy: 14 days idle", login, login.Add(14*24*time.Hour - time.Minute), SessionPolicy{}, ""},
		{"unset policy: idle after 14 days", login, login.Add(14 * 24 * time.Hour), SessionPolicy{}, ReasonSessionIdle},
		{"unset policy: 30 days at most", login.Add(29 * 24 * time.Hour), login.Add(30 * 24 * time.Hour), SessionPolicy{}, ReasonSessionExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Session{CreatedAt: login, LastUsedAt: tc.lastUsed}
			if got := s.Ended(tc.policy, tc.now); got != tc.want {
				t.Fatalf("Ended = %q, want %q", got, tc.want)
			}
		})
	}
}
