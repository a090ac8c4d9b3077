// Package events names the subjects of Latchkey's domain events and builds
// the metadata every event starts with. The payloads are the messages of
// proto/latchkey/events/v1; its file comment lists every subject.
package events

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/ids"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
)

// Prefix is the start of every event subject; subscribe to Prefix + ">"
// for all of them.
const Prefix = "latchkey.events.v1."

// Subjects of the events published so far (see events.proto for all).
const (
	TenantCreated       = Prefix + "tenant.created"
	TenantUpdated       = Prefix + "tenant.updated"
	TenantPolicyChanged = Prefix + "tenant.policy_changed"
	AccountCreated      = Prefix + "account.created"
	AccountInvited      = Prefix + "account.invited"
	AccountLocked       = Prefix + "account.locked"
	AccountUnlocked     = Prefix + "account.unlocked"
	TermsAccepted       = Prefix + "account.terms_accepted"
	TermsPublished      = Prefix + "tenant.terms_published"
	AccountUpdated      = Prefix + "account.updated"
	UsernameChanged     = Prefix + "account.username_changed"
	AccountDisabled     = Prefix + "account.disabled"
	AccountReactivated  = Prefix + "account.reactivated"
	AccountActivated    = Prefix + "account.activated"
	PasswordChanged     = Prefix + "credential.password_changed"
	PasswordSetByAdmin  = Prefix + "credential.password_set_by_admin"
	PinChanged          = Prefix + "credential.pin_changed"
	PasswordExpiresSoon = Prefix + "credential.password_expires_soon"
	LoginSucceeded      = Prefix + "session.login_succeeded"
	LoginFailed         = Prefix + "session.login_failed"
	SessionRevoked      = Prefix + "session.revoked"
	RefreshTokenReused  = Prefix + "session.refresh_token_reused"
	MfaEnabled          = Prefix + "mfa.enabled"
	MfaDisabled         = Prefix + "mfa.disabled"
	MfaReset            = Prefix + "mfa.reset"
)

// NewMeta returns the metadata of a new event: a fresh id (also its
// Nats-Msg-Id), the time, the tenant and who caused it.
func NewMeta(tenantID string, actor *eventsv1.Actor, at time.Time) *eventsv1.EventMeta {
	return &eventsv1.EventMeta{
		EventId:   ids.New(),
		OccurTime: timestamppb.New(at),
		TenantId:  tenantID,
		Actor:     actor,
	}
}

// ActorOf describes the caller p as an event's actor; reason is the free
// text an admin gave, if any. A nil p is the system itself.
func ActorOf(p *authn.Principal, reason string) *eventsv1.Actor {
	a := &eventsv1.Actor{Kind: eventsv1.Actor_Kind_SYSTEM, Reason: reason}
	if p == nil {
		return a
	}
	switch p.Kind {
	case authn.KindOperatorToken:
		a.Kind = eventsv1.Actor_Kind_OPERATOR
	case authn.KindAccount:
		a.AccountId = p.AccountID
		switch {
		case p.HasRole(authn.RoleOperator):
			a.Kind = eventsv1.Actor_Kind_OPERATOR
		case p.HasRole(authn.RoleAdmin):
			a.Kind = eventsv1.Actor_Kind_ADMIN
		default:
			a.Kind = eventsv1.Actor_Kind_USER
		}
	}
	return a
}
