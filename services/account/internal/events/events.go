// Package events builds the events the account service publishes, from the
// domain, ready for the outbox.
package events

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/latchkey/latchkey/libs/events"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
	"github.com/latchkey/latchkey/services/account/internal/account"
	"github.com/latchkey/latchkey/services/account/internal/convert"
	"github.com/latchkey/latchkey/services/account/internal/store"
)

// TenantCreated is the event of t's creation.
func TenantCreated(t *account.Tenant, actor *eventsv1.Actor) store.Event {
	meta := events.NewMeta(t.ID, actor, t.CreatedAt)
	return store.Event{ID: meta.EventId, Subject: events.TenantCreated, Message: &eventsv1.TenantCreated{
		Meta: meta, TenantId: t.ID, Code: t.Code, Name: t.Name,
	}}
}

// TenantUpdated is the event of a change of t's name.
func TenantUpdated(t *account.Tenant, actor *eventsv1.Actor) store.Event {
	meta := events.NewMeta(t.ID, actor, t.UpdatedAt)
	return store.Event{ID: meta.EventId, Subject: events.TenantUpdated, Message: &eventsv1.TenantUpdated{
		Meta: meta, TenantId: t.ID, Code: t.Code, Name: t.Name,
	}}
}

// TenantPolicyChanged is the event of a change of t's policy; changed
// names the changed fields by their JSON paths
// (account.ChangedPolicyFields).
func TenantPolicyChanged(t *account.Tenant, changed []string, actor *eventsv1.Actor) store.Event {
	meta := events.NewMeta(t.ID, actor, t.UpdatedAt)
	return store.Event{ID: meta.EventId, Subject: events.TenantPolicyChanged, Message: &eventsv1.TenantPolicyChanged{
		Meta: meta, TenantId: t.ID, Policy: convert.Policy(t.Policy), ChangedFields: changed,
	}}
}

// AccountCreated is the event of a's creation.
func AccountCreated(a *account.Account, activation account.Activation, actor *eventsv1.Actor) store.Event {
	meta := events.NewMeta(a.TenantID, actor, a.CreatedAt)
	return store.Event{ID: meta.EventId, Subject: events.AccountCreated, Message: &eventsv1.AccountCreated{
		Meta: meta, AccountId: a.ID, Username: a.Username, Email: a.Email, DisplayName: a.DisplayName,
		Roles: convert.Roles(a.Roles), Status: convert.StatusToProto(a.Status),
		Activation: convert.ActivationToProto(activation), Locale: a.Locale,
	}}
}

// AccountImported is the event of a's creation by a legacy import: an
// AccountCreated marked imported; a PENDING one (imported without a
// password) is activated by e-mail link.
func AccountImported(a *account.Account, actor *eventsv1.Actor) store.Event {
	var activation account.Activation
	if a.Status == account.StatusPending {
		activation = account.ActivationEmailLink
	}
	ev := AccountCreated(a, activation, actor)
	ev.Message.(*eventsv1.AccountCreated).Imported = true
	return ev
}

// AccountInvited asks for an activation e-mail to a; the recovery service
// issues the link when it sees this event.
func AccountInvited(a *account.Account, actor *eventsv1.Actor, at time.Time) store.Event {
	meta := events.NewMeta(a.TenantID, actor, at)
	return store.Event{ID: meta.EventId, Subject: events.AccountInvited, Message: &eventsv1.AccountInvited{
		Meta: meta, AccountId: a.ID, Email: a.Email, Locale: a.Locale, DisplayName: a.DisplayName,
	}}
}

// AccountLocked is the event of a lock of a.
func AccountLocked(a *account.Account, actor *eventsv1.Actor) store.Event {
	meta := events.NewMeta(a.TenantID, actor, a.UpdatedAt)
	ev := &eventsv1.AccountLocked{Meta: meta, AccountId: a.ID, Reason: convert.LockReasonToProto(a.LockReason)}
	if a.LockedUntil != nil {
		ev.UnlockTime = timestamppb.New(*a.LockedUntil)
	}
	return store.Event{ID: meta.EventId, Subject: events.AccountLocked, Message: ev}
}

// AccountUnlocked is the event of the end of a's lock for reason was.
func AccountUnlocked(a *account.Account, was account.LockReason, actor *eventsv1.Actor) store.Event {
	meta := events.NewMeta(a.TenantID, actor, a.UpdatedAt)
	return store.Event{ID: meta.EventId, Subject: events.AccountUnlocked, Message: &eventsv1.AccountUnlocked{
		Meta: meta, AccountId: a.ID, PreviousReason: convert.LockReasonToProto(was),
	}}
}

// TermsAccepted is the event of a's acceptance of a terms version.
func TermsAccepted(a *account.Account, actor *eventsv1.Actor) store.Event {
	meta := events.NewMeta(a.TenantID, actor, a.UpdatedAt)
	return store.Event{ID: meta.EventId, Subject: events.TermsAccepted, Message: &eventsv1.TermsAccepted{
		Meta: meta, AccountId: a.ID, Version: a.AcceptedTermsVersion,
	}}
}

// TermsPublished is the event of a new terms version of tenant t.
func TermsPublished(t *account.Tenant, actor *eventsv1.Actor) store.Event {
	meta := events.NewMeta(t.ID, actor, t.UpdatedAt)
	return store.Event{ID: meta.EventId, Subject: events.TermsPublished, Message: &eventsv1.TermsPublished{
		Meta: meta, TenantId: t.ID, Version: t.TermsVersion,
	}}
}

// AccountUpdated is the event of a change of a's profile or roles; changed
// names the fields ("email", "display_name", "locale", "roles").
func AccountUpdated(a *account.Account, changed []string, actor *eventsv1.Actor) store.Event {
	meta := events.NewMeta(a.TenantID, actor, a.UpdatedAt)
	return store.Event{ID: meta.EventId, Subject: events.AccountUpdated, Message: &eventsv1.AccountUpdated{
		Meta: meta, AccountId: a.ID, Email: a.Email, DisplayName: a.DisplayName, Locale: a.Locale,
		Roles: convert.Roles(a.Roles), ChangedFields: changed,
	}}
}

// UsernameChanged is the event of a's new login ID.
func UsernameChanged(a *account.Account, old string, actor *eventsv1.Actor) store.Event {
	meta := events.NewMeta(a.TenantID, actor, a.UpdatedAt)
	return store.Event{ID: meta.EventId, Subject: events.UsernameChanged, Message: &eventsv1.UsernameChanged{
		Meta: meta, AccountId: a.ID, OldUsername: old, NewUsername: a.Username,
	}}
}

// AccountDisabled is the event of a being switched off.
func AccountDisabled(a *account.Account, actor *eventsv1.Actor) store.Event {
	meta := events.NewMeta(a.TenantID, actor, a.UpdatedAt)
	return store.Event{ID: meta.EventId, Subject: events.AccountDisabled, Message: &eventsv1.AccountDisabled{
		Meta: meta, AccountId: a.ID,
	}}
}

// AccountReactivated is the event of a disabled account coming back.
func AccountReactivated(a *account.Account, actor *eventsv1.Actor) store.Event {
	meta := events.NewMeta(a.TenantID, actor, a.UpdatedAt)
	return store.Event{ID: meta.EventId, Subject: events.AccountReactivated, Message: &eventsv1.AccountReactivated{
		Meta: meta, AccountId: a.ID,
	}}
}

// AccountActivated is the event of a pending account's first password,
// set through its activation link.
func AccountActivated(a *account.Account, actor *eventsv1.Actor) store.Event {
	meta := events.NewMeta(a.TenantID, actor, a.UpdatedAt)
	return store.Event{ID: meta.EventId, Subject: events.AccountActivated, Message: &eventsv1.AccountActivated{
		Meta: meta, AccountId: a.ID, Activation: convert.ActivationToProto(account.ActivationEmailLink),
	}}
}
