package events

import (
	"time"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/events"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
	"github.com/latchkey/latchkey/services/credential/internal/store"
)

// SigningKeyRotated is the event of an operator's rotation of the signing
// key: keyID signs from now on and the keys retired are out of JWKS; every
// service reloads its keys and refuses the retired ones' tokens at once.
// A platform event: no tenant.
func SigningKeyRotated(keyID string, retired []string, at time.Time) store.Event {
	meta := events.NewMeta("", &eventsv1.Actor{Kind: eventsv1.Actor_Kind_OPERATOR}, at)
	return store.Event{ID: meta.EventId, Subject: authn.SigningKeyRotatedSubject,
		Message: &eventsv1.SigningKeyRotated{Meta: meta, KeyId: keyID, RetiredKeyIds: retired}}
}
