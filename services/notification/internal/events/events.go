// Package events is what the notification service publishes (built here
// from the domain, ready for the outbox) and the subjects of the events it
// consumes that libs/events does not name.
package events

import (
	"time"

	"github.com/latchkey/latchkey/libs/events"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
	"github.com/latchkey/latchkey/services/notification/internal/convert"
	"github.com/latchkey/latchkey/services/notification/internal/delivery"
	"github.com/latchkey/latchkey/services/notification/internal/store"
)

// Subjects of the events this service publishes.
const (
	SubjectNotificationSent   = events.NotificationSent
	SubjectNotificationFailed = events.NotificationFailed
)

// Subjects of the mfa events the notices follow.
const (
	SubjectMfaEnabled  = events.MfaEnabled
	SubjectMfaDisabled = events.MfaDisabled
	SubjectMfaReset    = events.MfaReset
)

// system is the actor of every event of this service: the worker, never a
// person.
func system() *eventsv1.Actor { return &eventsv1.Actor{Kind: eventsv1.Actor_Kind_SYSTEM} }

// NotificationSent is the event of d's delivery to the SMTP server, at at
// (the time stored with the change).
func NotificationSent(d *delivery.Delivery, at time.Time) store.Event {
	meta := events.NewMeta(d.TenantID, system(), at)
	return store.Event{ID: meta.EventId, Subject: SubjectNotificationSent, Message: &eventsv1.NotificationSent{
		Meta: meta, DeliveryId: d.ID, Template: convert.TemplateToProto(d.Template), AccountId: d.AccountID,
		Attempts: int32(d.Attempts),
	}}
}

// NotificationFailed is the event of d's end without delivery (FAILED or
// RATE_LIMITED, the reason in d.LastError), at at. It never carries the
// variables: they hold link tokens and keys.
func NotificationFailed(d *delivery.Delivery, at time.Time) store.Event {
	meta := events.NewMeta(d.TenantID, system(), at)
	return store.Event{ID: meta.EventId, Subject: SubjectNotificationFailed, Message: &eventsv1.NotificationFailed{
		Meta: meta, DeliveryId: d.ID, Template: convert.TemplateToProto(d.Template), Reason: d.LastError, AccountId: d.AccountID,
	}}
}
