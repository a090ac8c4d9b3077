package authn

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/latchkey/latchkey/libs/natsx"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
)

// SigningKeyRotatedSubject is the subject of the event the credential
// service records when an operator rotates the access-token signing key
// (`latchkey keys rotate`): every service forgets its cached keys, and
// refuses at once the tokens of the keys the rotation retired.
const SigningKeyRotatedSubject = natsx.EventsSubjectPrefix + ".signing_key.rotated"

// SigningKeyRotated is the decoded event.
type SigningKeyRotated struct {
	EventID string
	KeyID   string
	Retired []string
}

// ParseSigningKeyRotated decodes the payload of a SigningKeyRotated event
// (eventsv1.SigningKeyRotated).
func ParseSigningKeyRotated(payload []byte) (SigningKeyRotated, error) {
	var m eventsv1.SigningKeyRotated
	if err := proto.Unmarshal(payload, &m); err != nil {
		return SigningKeyRotated{}, fmt.Errorf("authn: SigningKeyRotated: %w", err)
	}
	return SigningKeyRotated{EventID: m.GetMeta().GetEventId(), KeyID: m.GetKeyId(), Retired: m.GetRetiredKeyIds()}, nil
}

// RetiredKeys is the set of signing keys an operator retired: a verifier
// refuses their tokens even while a cached JWKS still lists them. Retired
// keys are few (one per manual retirement) and their ids never come back,
// so the set only grows, for the life of the process. It is safe for
// concurrent use.
type RetiredKeys struct {
	mu  sync.RWMutex
	ids map[string]struct{}
	// feed proves the set current (FollowKeyRotations); nil: always.
	feed atomic.Pointer[feedHealth]
}

// NewRetiredKeys returns an empty set.
func NewRetiredKeys() *RetiredKeys { return &RetiredKeys{ids: map[string]struct{}{}} }

// Retire adds the key id.
func (r *RetiredKeys) Retire(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids[id] = struct{}{}
}

// Retired reports whether the key id was retired.
func (r *RetiredKeys) Retired(id string) bool {
	if r == nil {
		return false
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	_, ok := r.ids[id]
	return ok
}

// Current reports whether the set holds every retirement published so far,
// as far as its feed can prove (the same proof as Denylist.Current: NATS
// connected and settled, the stream's last rotation applied). While it is
// not, a Verifier does not trust its cached keys alone: a key retired
// during a NATS outage may still be listed there. A set no feed follows
// is always current.
func (r *RetiredKeys) Current() bool {
	if r == nil {
		return true
	}
	h := r.feed.Load()
	return h == nil || h.current()
}

func (r *RetiredKeys) attachFeed(h *feedHealth) { r.feed.Store(h) }

// KeyInvalidator is a KeySource that can drop what it cached, so that the
// next call reads the keys again: the credential service's issuer, and
// CachedKeys.
type KeyInvalidator interface {
	InvalidateKeys()
}

// DefaultKeyRotationLookback is how far back a service starting up reads
// key rotations: longer than any verifier caches keys (DefaultKeysTTL) or
// any token lives, so a retirement it missed while down is applied too.
const DefaultKeyRotationLookback = 24 * time.Hour

// FollowKeyRotations applies the SigningKeyRotated events of the events
// stream until ctx ends: each retired key is added to retired, and keys,
// when it is a KeyInvalidator, forgets what it cached, so the new key is
// known and the retired one gone at the next verification. Like
// FollowRevocations it returns once the events already in the stream
// (opts.Lookback, default DefaultKeyRotationLookback) are applied, and from
// then on proves retired current as FollowRevocations proves its
// denylist (opts.MaxLag, opts.Settle): while it cannot, a Verifier checks
// each token's key against keys published a second ago at most
// (KeyFreshener), since a retirement made during a NATS outage reaches no
// one through the events.
func FollowKeyRotations(ctx context.Context, js jetstream.JetStream, retired *RetiredKeys, keys KeySource, opts FollowOptions) error {
	if opts.Subject == "" {
		opts.Subject = SigningKeyRotatedSubject
	}
	if opts.Lookback <= 0 {
		opts.Lookback = DefaultKeyRotationLookback
	}
	inv, _ := keys.(KeyInvalidator)
	connected, reconnects := connFuncs(js.Conn())
	health := newFeedHealth(opts.MaxLag, opts.Settle, connected, reconnects)
	err := follow(ctx, js, opts, health, func(msg jetstream.Msg, log *slog.Logger) {
		ev, err := ParseSigningKeyRotated(msg.Data())
		if err != nil {
			log.Error("authn: undecodable SigningKeyRotated skipped", "err", err)
			return
		}
		for _, id := range ev.Retired {
			retired.Retire(id)
		}
		if inv != nil {
			inv.InvalidateKeys()
		}
		log.Info("authn: signing key rotated", "kid", ev.KeyID, "retired", ev.Retired)
	})
	if err != nil {
		return err
	}
	retired.attachFeed(health)
	return nil
}
