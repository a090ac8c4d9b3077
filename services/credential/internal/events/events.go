// Package events builds the events the credential service publishes.
// None carries a secret: no password, hash, token or ticket.
package events

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/latchkey/latchkey/libs/events"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
	"github.com/latchkey/latchkey/services/credential/internal/credential"
	"github.com/latchkey/latchkey/services/credential/internal/store"
)

// LoginSucceeded is the event of a log-in that made session s; newDevice
// says the account signed in from a device it had not used before.
func LoginSucceeded(s *credential.Session, newDevice bool, at time.Time) store.Event {
	meta := events.NewMeta(s.TenantID, &eventsv1.Actor{AccountId: s.AccountID, Kind: eventsv1.Actor_Kind_USER}, at)
	return store.Event{ID: meta.EventId, Subject: events.LoginSucceeded, Message: &eventsv1.LoginSucceeded{
		Meta: meta, AccountId: s.AccountID, SessionId: s.ID, Amr: s.AMR, Ip: s.IP, UserAgent: s.UserAgent, DeviceName: s.DeviceName,
		NewDevice: newDevice,
	}}
}

// LoginFailed is the event of a failed log-in of an account (the count of
// consecutive failures so far, and why, never the password tried).
func LoginFailed(tenantID, accountID string, count int, reason, ip, userAgent string, at time.Time) store.Event {
	meta := events.NewMeta(tenantID, &eventsv1.Actor{Kind: eventsv1.Actor_Kind_USER}, at)
	return store.Event{ID: meta.EventId, Subject: events.LoginFailed, Message: &eventsv1.LoginFailed{
		Meta: meta, AccountId: accountID, FailedCount: int32(count), Reason: reason, Ip: ip, UserAgent: userAgent,
	}}
}

// PasswordChanged is the event of a new password set by the user.
func PasswordChanged(tenantID, accountID string, cause eventsv1.PasswordChanged_Cause_Value, expires *time.Time, at time.Time) store.Event {
	meta := events.NewMeta(tenantID, &eventsv1.Actor{AccountId: accountID, Kind: eventsv1.Actor_Kind_USER}, at)
	ev := &eventsv1.PasswordChanged{Meta: meta, AccountId: accountID, Cause: cause}
	if expires != nil {
		ev.ExpireTime = timestamppb.New(*expires)
	}
	return store.Event{ID: meta.EventId, Subject: events.PasswordChanged, Message: ev}
}

// PasswordExpiresSoon is the warning of a password that expires at
// expires (notification e-mails it), told by the sweep.
func PasswordExpiresSoon(tenantID, accountID string, expires, at time.Time) store.Event {
	meta := events.NewMeta(tenantID, &eventsv1.Actor{Kind: eventsv1.Actor_Kind_SYSTEM}, at)
	return store.Event{ID: meta.EventId, Subject: events.PasswordExpiresSoon, Message: &eventsv1.PasswordExpiresSoon{
		Meta: meta, AccountId: accountID, ExpireTime: timestamppb.New(expires),
	}}
}

// PasswordSetByAdmin is the event of a password an administrator set.
func PasswordSetByAdmin(tenantID, accountID string, temporary bool, actor *eventsv1.Actor, at time.Time) store.Event {
	meta := events.NewMeta(tenantID, actor, at)
	return store.Event{ID: meta.EventId, Subject: events.PasswordSetByAdmin, Message: &eventsv1.PasswordSetByAdmin{
		Meta: meta, AccountId: accountID, Temporary: temporary,
	}}
}

// SessionRevoked is the event of a revoked session; services refuse its
// access tokens until accessExpire, when the last of them expires.
func SessionRevoked(tenantID, accountID, sessionID, reason string, accessExpire time.Time, actor *eventsv1.Actor, at time.Time) store.Event {
	meta := events.NewMeta(tenantID, actor, at)
	return store.Event{ID: meta.EventId, Subject: events.SessionRevoked, Message: &eventsv1.SessionRevoked{
		Meta: meta, SessionId: sessionID, AccountId: accountID, Reason: reason, AccessExpireTime: timestamppb.New(accessExpire),
	}}
}

// RefreshTokenReused is the event of a spent refresh token presented
// again: someone holds a copy, and the session is revoked.
func RefreshTokenReused(r *credential.RefreshToken, ip, userAgent string, at time.Time) store.Event {
	meta := events.NewMeta(r.TenantID, &eventsv1.Actor{Kind: eventsv1.Actor_Kind_SYSTEM}, at)
	return store.Event{ID: meta.EventId, Subject: events.RefreshTokenReused, Message: &eventsv1.RefreshTokenReused{
		Meta: meta, SessionId: r.SessionID, AccountId: r.AccountID, Ip: ip, UserAgent: userAgent,
	}}
}

// PinChanged is the event of a PIN set or changed by its user.
func PinChanged(tenantID, accountID string, first bool, at time.Time) store.Event {
	meta := events.NewMeta(tenantID, &eventsv1.Actor{AccountId: accountID, Kind: eventsv1.Actor_Kind_USER}, at)
	return store.Event{ID: meta.EventId, Subject: events.PinChanged, Message: &eventsv1.PinChanged{
		Meta: meta, AccountId: accountID, First: first,
	}}
}
