package credential

import "time"

// SessionPolicy is how long a session lasts (the tenant policy's
// session.maxLifetimeHours and session.idleHours).
type SessionPolicy struct {
	// MaxLifetime counts from the log-in that made the session; refreshing
	// cannot stretch it.
	MaxLifetime time.Duration
	// Idle is how long the session's refresh token may stay unused.
	Idle time.Duration
}

// Defaults of SessionPolicy, used for a bound the account service did not
// give (an older version): those of the tenant policy.
const (
	DefaultSessionMaxLifetime = 30 * 24 * time.Hour
	DefaultSessionIdle        = 14 * 24 * time.Hour
)

// Reasons a session ends by the tenant's session policy, as SessionRevoked
// events and refused refreshes name them.
const (
	ReasonSessionExpired = "SESSION_EXPIRED"
	ReasonSessionIdle    = "SESSION_IDLE"
)

// WithDefaults fills the bounds left unset.
func (p SessionPolicy) WithDefaults() SessionPolicy {
	if p.MaxLifetime <= 0 {
		p.MaxLifetime = DefaultSessionMaxLifetime
	}
	if p.Idle <= 0 {
		p.Idle = DefaultSessionIdle
	}
	return p
}

// Ended returns why s may no longer be refreshed at now under p
// (ReasonSessionExpired or ReasonSessionIdle), or "" while it may. The
// lifetime counts from the log-in that made the session, the idle time
// from its last refresh (or that log-in); a session exactly at a bound has
// ended.
func (s *Session) Ended(p SessionPolicy, now time.Time) string {
	p = p.WithDefaults()
	if !now.Before(s.CreatedAt.Add(p.MaxLifetime)) {
		return ReasonSessionExpired
	}
	last := s.LastUsedAt
	if last.Before(s.CreatedAt) {
		last = s.CreatedAt
	}
	if !now.Before(last.Add(p.Idle)) {
		return ReasonSessionIdle
	}
	return ""
}
