// Package events builds the events the mfa service publishes, from the
// domain, ready for the outbox. They never carry a secret: no TOTP key,
// no recovery code.
package events

import (
	"time"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/events"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
	mfav1 "github.com/latchkey/latchkey/proto/gen/latchkey/mfa/v1"
	"github.com/latchkey/latchkey/services/mfa/internal/store"
)

// User is the actor of a change the account's own user made outside a
// signed-in call (a log-in step, a first code of an e-mailed key).
func User(accountID string) *eventsv1.Actor {
	return &eventsv1.Actor{Kind: eventsv1.Actor_Kind_USER, AccountId: accountID}
}

// Actor is the caller p as an event's actor.
func Actor(p *authn.Principal) *eventsv1.Actor { return events.ActorOf(p, "") }

// MfaEnabled is the event of the confirmation of an account's TOTP factor
// at at.
func MfaEnabled(tenantID, accountID string, actor *eventsv1.Actor, at time.Time) store.Event {
	meta := events.NewMeta(tenantID, actor, at)
	return store.Event{ID: meta.EventId, Subject: events.MfaEnabled, Message: &eventsv1.MfaEnabled{
		Meta: meta, AccountId: accountID, FactorType: mfav1.FactorType_TOTP,
	}}
}

// MfaDisabled is the event of the user's removal of their TOTP factor.
func MfaDisabled(tenantID, accountID string, actor *eventsv1.Actor, at time.Time) store.Event {
	meta := events.NewMeta(tenantID, actor, at)
	return store.Event{ID: meta.EventId, Subject: events.MfaDisabled, Message: &eventsv1.MfaDisabled{
		Meta: meta, AccountId: accountID, FactorType: mfav1.FactorType_TOTP,
	}}
}

// MfaReset is the event of an administrator's removal of every factor and
// recovery code of an account.
func MfaReset(tenantID, accountID string, actor *eventsv1.Actor, at time.Time) store.Event {
	meta := events.NewMeta(tenantID, actor, at)
	return store.Event{ID: meta.EventId, Subject: events.MfaReset, Message: &eventsv1.MfaReset{
		Meta: meta, AccountId: accountID,
	}}
}
