package ui

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"

	credentialv1 "github.com/latchkey/latchkey/proto/gen/latchkey/credential/v1"
)

// refreshShareWindow is how long a refresh's answer is given to other
// requests that come with the same (now spent) refresh token.
const refreshShareWindow = time.Minute

// refresher makes one refresh call per refresh token. Refresh tokens
// rotate, and using a spent one revokes the whole session (API.md), so two
// requests of one browser that both find the access token near expiry
// (two tabs, a quick double click) must not both refresh: the second gets
// the first one's answer. This holds within one gateway process; behind
// several replicas the credential service gives a token spent moments ago
// the same successor (credential.RefreshReuseGrace), so the race does not
// end the session there either.
type refresher struct {
	mu      sync.Mutex
	flights map[[32]byte]*refreshFlight
}

type refreshFlight struct {
	done chan struct{}
	at   time.Time
	resp *credentialv1.RefreshTokenResponse
	err  error
}

// refresh calls call once for token and shares its answer.
func (f *refresher) refresh(ctx context.Context, now time.Time, token string, call func(context.Context) (*credentialv1.RefreshTokenResponse, error)) (*credentialv1.RefreshTokenResponse, error) {
	key := sha256.Sum256([]byte(token))
	f.mu.Lock()
	if f.flights == nil {
		f.flights = map[[32]byte]*refreshFlight{}
	}
	for k, fl := range f.flights {
		select {
		case <-fl.done:
			if now.Sub(fl.at) > refreshShareWindow {
				delete(f.flights, k)
			}
		default:
		}
	}
	if fl, ok := f.flights[key]; ok {
		f.mu.Unlock()
		select {
		case <-fl.done:
			return fl.resp, fl.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	fl := &refreshFlight{done: make(chan struct{}), at: now}
	f.flights[key] = fl
	f.mu.Unlock()
	// The call is the session's, not this request's: a browser that goes
	// away mid-refresh must not leave its other requests without tokens.
	fl.resp, fl.err = call(context.WithoutCancel(ctx))
	close(fl.done)
	return fl.resp, fl.err
}
