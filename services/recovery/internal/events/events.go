// Package events is what the recovery service publishes, built here from
// the domain ready for the outbox: its domain events, and its requests for
// e-mail on the notification service's private work queue (the only place
// a link token travels).
package events

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/latchkey/latchkey/libs/events"
	"github.com/latchkey/latchkey/libs/natsx"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
	notificationinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/notification/v1"
	notificationv1 "github.com/latchkey/latchkey/proto/gen/latchkey/notification/v1"
	"github.com/latchkey/latchkey/services/recovery/internal/recovery"
	"github.com/latchkey/latchkey/services/recovery/internal/store"
)

// Subjects of the events this service publishes.
const (
	SubjectPasswordResetRequested = events.PasswordResetRequested
	SubjectPasswordResetCompleted = events.PasswordResetCompleted
	SubjectSecurityQuestionsSet   = events.SecurityQuestionsSet
)

// PasswordResetRequested is the event of a reset link issued for an
// existing account, at at.
func PasswordResetRequested(t *recovery.LinkToken, actor *eventsv1.Actor) store.Event {
	meta := events.NewMeta(t.TenantID, actor, t.CreatedAt)
	return store.Event{ID: meta.EventId, Subject: SubjectPasswordResetRequested, Message: &eventsv1.PasswordResetRequested{
		Meta: meta, AccountId: t.AccountID, ByAdmin: t.ByAdmin, ExpireTime: timestamppb.New(t.ExpiresAt),
	}}
}

// PasswordResetCompleted is the event of a completed reset, with the
// proofs that were checked.
func PasswordResetCompleted(tenantID, accountID string, verifiedWith []string, at time.Time) store.Event {
	meta := events.NewMeta(tenantID, &eventsv1.Actor{Kind: eventsv1.Actor_Kind_USER, AccountId: accountID}, at)
	return store.Event{ID: meta.EventId, Subject: SubjectPasswordResetCompleted, Message: &eventsv1.PasswordResetCompleted{
		Meta: meta, AccountId: accountID, VerifiedWith: verifiedWith,
	}}
}

// SecurityQuestionsSet is the event of an account's new security
// questions.
func SecurityQuestionsSet(tenantID, accountID string, count int, actor *eventsv1.Actor, at time.Time) store.Event {
	meta := events.NewMeta(tenantID, actor, at)
	return store.Event{ID: meta.EventId, Subject: SubjectSecurityQuestionsSet, Message: &eventsv1.SecurityQuestionsSet{
		Meta: meta, AccountId: accountID, Count: int32(count),
	}}
}

// LinkEmail is the request to the notification service for the e-mail
// that carries link token plain of t (template ACTIVATION or
// PASSWORD_RESET), to the account's own address (or to, when known). The
// notification service joins the token to the tenant's link base URL and
// adds the company code.
func LinkEmail(t *recovery.LinkToken, plain, requestID string, to recovery.Recipient) store.Event {
	tmpl := notificationv1.Template_PASSWORD_RESET
	if t.Kind == recovery.Activation {
		tmpl = notificationv1.Template_ACTIVATION
	}
	return store.Event{ID: requestID, Subject: natsx.NotifySendSubject, Message: &notificationinternalv1.SendNotificationRequest{
		RequestId: requestID, TenantId: t.TenantID, AccountId: t.AccountID, Template: tmpl, Locale: to.Locale,
		Recipient: recipient(to),
		Variables: map[string]string{"token": plain, "expire_time": t.ExpiresAt.UTC().Format(time.RFC3339)},
	}}
}

func recipient(to recovery.Recipient) *notificationinternalv1.Recipient {
	if to.Address == "" {
		return nil
	}
	return &notificationinternalv1.Recipient{Address: to.Address, DisplayName: to.Name}
}
