package authn

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/latchkey/latchkey/libs/errs"
	credentialinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/credential/v1"
)

// ReasonRevocationsUnavailable: whether the token's session is revoked
// cannot be told right now (the revocation feed is behind and the
// credential service does not answer): Unavailable (503), so the client
// retries rather than logging in again.
const ReasonRevocationsUnavailable = "REVOCATIONS_UNAVAILABLE"

// SessionChecker tells, from the credential service's own store, whether
// a session is live: what a Verifier asks while its denylist is not
// current.
type SessionChecker interface {
	// SessionLive reports whether the tenant's session exists and is not
	// revoked.
	SessionLive(ctx context.Context, tenantID, sessionID string) (bool, error)
}

// SessionCheckerFunc adapts a function to SessionChecker (the credential
// service checks its own store this way).
type SessionCheckerFunc func(ctx context.Context, tenantID, sessionID string) (bool, error)

// SessionLive calls f.
func (f SessionCheckerFunc) SessionLive(ctx context.Context, tenantID, sessionID string) (bool, error) {
	return f(ctx, tenantID, sessionID)
}

// CredentialSessions returns a SessionChecker that asks the credential
// service's CheckSession.
func CredentialSessions(client credentialinternalv1.CredentialInternalServiceClient) SessionChecker {
	return SessionCheckerFunc(func(ctx context.Context, tenantID, sessionID string) (bool, error) {
		resp, err := client.CheckSession(ctx, &credentialinternalv1.CheckSessionRequest{TenantId: tenantID, SessionId: sessionID})
		if err != nil {
			return false, fmt.Errorf("authn: CheckSession: %w", err)
		}
		return resp.GetLive(), nil
	})
}

// liveSessionTTL is how long a session the credential service said is
// live is believed without asking again, while the denylist is not
// current: a revocation during an outage is seen within this time, and a
// busy client costs one call per session and TTL.
const liveSessionTTL = time.Second

// maxLiveSessions bounds the cache of live sessions (the sids come from
// tokens whose signature is good, but an outage may be long).
const maxLiveSessions = 100_000

// sessionCheck asks a SessionChecker about sessions while the denylist is
// not current, remembering live answers for liveSessionTTL (system time:
// like the feed's health it measures the infrastructure) and putting
// revoked sessions on the denylist.
type sessionCheck struct {
	checker SessionChecker
	deny    *Denylist
	now     func() time.Time

	mu   sync.Mutex
	live map[string]time.Time
}

func newSessionCheck(c SessionChecker, d *Denylist) *sessionCheck {
	return &sessionCheck{checker: c, deny: d, now: time.Now, live: map[string]time.Time{}}
}

// check returns nil for a live session, Unauthenticated SESSION_REVOKED
// for a revoked or unknown one, and Unavailable when it cannot tell.
// tokenExpiry is when the token expires: a revoked session stays on the
// denylist that long.
func (s *sessionCheck) check(ctx context.Context, tenantID, sessionID string, tokenExpiry time.Time) error {
	if s == nil || s.checker == nil {
		return errs.Unavailable(ReasonRevocationsUnavailable, "sessions cannot be checked right now; try again", nil)
	}
	key := tenantID + "/" + sessionID
	now := s.now()
	s.mu.Lock()
	until, ok := s.live[key]
	s.mu.Unlock()
	if ok && now.Before(until) {
		return nil
	}
	live, err := s.checker.SessionLive(ctx, tenantID, sessionID)
	if err != nil {
		return errs.Unavailable(ReasonRevocationsUnavailable, "sessions cannot be checked right now; try again", err)
	}
	if !live {
		// The SessionRevoked event will say so too once the feed is
		// back; until then the list keeps the answer.
		s.deny.Revoke(sessionID, tokenExpiry)
		s.mu.Lock()
		delete(s.live, key)
		s.mu.Unlock()
		return errSessionRevoked()
	}
	s.mu.Lock()
	if len(s.live) >= maxLiveSessions {
		clear(s.live)
	}
	s.live[key] = now.Add(liveSessionTTL)
	s.mu.Unlock()
	return nil
}
