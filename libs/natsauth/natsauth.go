// Package natsauth is who may do what on NATS: one table of what each
// service publishes and consumes, the NATS permissions made from it, and
// the nkey users with those permissions that `latchkey nats-auth` writes
// for a nats-server configuration. A service connects as its user with
// LATCHKEY_NATS_NKEY_FILE (natsx.UserOptions), and the server refuses it
// anything outside its row of the table: the account service cannot
// publish a credential event nor read the notification work queue.
package natsauth

import (
	"slices"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/events"
	"github.com/latchkey/latchkey/libs/natsx"
)

// Consumption is one consumer of a service: a stream and the subject it
// filters, both by their base names (natsx.Names prefixes them).
type Consumption struct {
	Stream  string
	Subject string
}

// Role is one row of the table: a NATS user (a service's name) and what
// it publishes and consumes, by base names.
type Role struct {
	User string
	// Publishes are the subjects it publishes to (through its outbox);
	// wildcards allowed.
	Publishes []string
	// Consumes are its durable consumers and its followers.
	Consumes []Consumption
}

// onEvents returns the consumptions of base event subjects on the events
// stream.
func onEvents(subjects ...string) []Consumption {
	out := make([]Consumption, len(subjects))
	for i, s := range subjects {
		out[i] = Consumption{Stream: natsx.EventsStreamName, Subject: s}
	}
	return out
}

// followed are what every service that verifies access tokens follows
// (authn.NewServerAuthenticator): revocations and key rotations.
var followed = onEvents(authn.SessionRevokedSubject, authn.SigningKeyRotatedSubject)

// Roles returns the table: every user of a deployment. Keep it in step
// with the services' outboxes and consumers (internal/events and
// internal/consumers); a service refused by NATS logs a permissions
// violation naming the subject.
func Roles() []Role {
	p := events.Prefix
	return []Role{
		{
			User:      "account",
			Publishes: []string{p + "tenant.>", p + "account.>"},
			Consumes:  append(onEvents(events.LoginSucceeded), followed...),
		},
		{
			User:      "credential",
			Publishes: []string{p + "credential.>", p + "session.>", authn.SigningKeyRotatedSubject},
			Consumes:  append(onEvents(events.AccountUpdated, events.AccountLocked, events.AccountDisabled), followed...),
		},
		{
			User: "recovery",
			// The work queue carries the links recovery's e-mails need.
			Publishes: []string{p + "recovery.>", natsx.NotifySendSubject},
			Consumes: append(onEvents(events.AccountInvited, events.PasswordChanged, events.PasswordSetByAdmin,
				events.AccountDisabled, events.UsernameChanged, events.AccountUpdated), followed...),
		},
		{
			User:      "mfa",
			Publishes: []string{p + "mfa.>"},
			Consumes:  followed,
		},
		{
			User:      "notification",
			Publishes: []string{p + "notification.>"},
			Consumes: append([]Consumption{{Stream: natsx.NotifyStreamName, Subject: natsx.NotifySendSubject}},
				onEvents(events.PasswordChanged, events.AccountLocked, events.MfaEnabled, events.MfaDisabled,
					events.MfaReset, events.LoginSucceeded, events.PasswordExpiresSoon)...),
		},
		// gatewayd only watches its connection for readiness.
		{User: "gateway"},
		// Another system reading the events (with durable consumers of
		// its own names; README, events catalog), or a test.
		{User: Subscriber, Consumes: onEvents(natsx.EventsSubjects)},
	}
}

// Subscriber is the user of systems that read the events: it may consume
// any of them, and publish none.
const Subscriber = natsx.SubscriberUser

// Permissions are a user's NATS permissions: the subjects it may publish
// to and subscribe to (an empty allow list with a deny of ">" for a user
// that may do neither).
type Permissions struct {
	PublishAllow, SubscribeAllow []string
	PublishDeny, SubscribeDeny   []string
}

// Permissions returns what NATS lets the role do in the deployment names:
// publish its own subjects; ensure the streams (every service does at
// start; a subscriber may only look at them); create consumers on the subjects it consumes, and no others,
// pull and acknowledge their messages, read the last message of a followed
// subject; and receive on its own inbox (natsx.Names.Inbox), where the
// JetStream API answers and pulled messages arrive.
//
// NATS wildcards are whole tokens, and followers' consumers have random
// names, so pulling is allowed from any consumer of a stream the service
// consumes (CONSUMER.CREATE is what the subjects limit): the notification
// work queue stays the notification service's alone. A follower's
// consumer is left to expire when the connection drops (deleting
// consumers is not allowed).
func (r Role) Permissions(names natsx.Names) Permissions {
	if len(r.Publishes) == 0 && len(r.Consumes) == 0 {
		return Permissions{PublishDeny: []string{">"}, SubscribeDeny: []string{">"}}
	}
	var pub []string
	add := func(s ...string) {
		for _, x := range s {
			if !slices.Contains(pub, x) {
				pub = append(pub, x)
			}
		}
	}
	for _, s := range r.Publishes {
		add(names.Subject(s))
	}
	for _, base := range []string{natsx.EventsStreamName, natsx.NotifyStreamName} {
		stream := names.Stream(base)
		add("$JS.API.STREAM.INFO." + stream)
		if len(r.Publishes) > 0 {
			// Services ensure the streams; a subscriber only reads.
			add("$JS.API.STREAM.CREATE."+stream, "$JS.API.STREAM.UPDATE."+stream)
		}
	}
	for _, c := range r.Consumes {
		stream := names.Stream(c.Stream)
		if c.Subject == natsx.EventsSubjects {
			// Consuming all of them may be asked without a filter.
			add("$JS.API.CONSUMER.CREATE." + stream + ".*")
		}
		add("$JS.API.CONSUMER.CREATE."+stream+".*."+names.Subject(c.Subject),
			"$JS.API.CONSUMER.INFO."+stream+".*",
			"$JS.API.CONSUMER.MSG.NEXT."+stream+".*",
			"$JS.API.STREAM.MSG.GET."+stream,
			"$JS.ACK."+stream+".>")
	}
	return Permissions{PublishAllow: pub, SubscribeAllow: []string{names.Inbox(r.User) + ".>"}}
}
