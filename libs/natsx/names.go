package natsx

import (
	"errors"
	"fmt"
	"strings"
)

// Names are one deployment's names on NATS, made from its prefix
// (LATCHKEY_NATS_PREFIX): two deployments with different prefixes can share
// one NATS without seeing each other's streams, subjects or consumers.
//
// Code names streams and subjects by their base names (EventsStreamName,
// the subjects of libs/events, NotifySendSubject), and only the edges that
// talk to NATS apply Names: the outbox relay when it publishes, the inbox
// and the authn followers when they consume, EnsureStreams. So an outbox
// row keeps its base subject, and rows written before a change of prefix
// go out under the new one.
//
// The zero value has no prefix: exactly the names used before prefixes
// existed, so an existing deployment changes nothing.
type Names struct {
	// Prefix is a NATS subject token (CheckPrefix); empty means none.
	Prefix string
}

// CheckPrefix says whether p can prefix the names: it must be one NATS
// subject token that is also valid in a stream name, so letters, digits,
// '-' and '_' only (at most 64 of them, to keep stream names short). The
// empty prefix is valid.
func CheckPrefix(p string) error {
	if len(p) > 64 {
		return errors.New("at most 64 characters")
	}
	for _, r := range p {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
		default:
			return fmt.Errorf("%q: only letters, digits, '-' and '_' (it is a NATS subject token and part of stream names)", p)
		}
	}
	return nil
}

// Subject returns the deployment's subject of base, e.g.
// "acme.latchkey.events.v1.account.created". A filter with wildcards works
// the same way.
func (n Names) Subject(base string) string {
	if n.Prefix == "" {
		return base
	}
	return n.Prefix + "." + base
}

// Base is the inverse of Subject: the base name of one of the deployment's
// subjects (a subject outside them is returned as it is).
func (n Names) Base(subject string) string {
	if n.Prefix == "" {
		return subject
	}
	return strings.TrimPrefix(subject, n.Prefix+".")
}

// Stream returns the deployment's name of the stream base, e.g.
// "acme_LATCHKEY_EVENTS". Durable consumer names need no prefix: a
// consumer belongs to its stream, so the prefixed stream keeps them apart.
func (n Names) Stream(base string) string {
	if n.Prefix == "" {
		return base
	}
	return n.Prefix + "_" + base
}

// SubscriberUser is the NATS user of the systems that read the events
// (natsauth gives it its permissions); tests read the events as it too.
const SubscriberUser = "subscriber"

// Inbox returns the inbox prefix of user (a service name): the subjects on
// which its connection receives replies and pulled messages. Each user has
// its own, so that NATS permissions can let a service read its replies and
// nobody else's (the default _INBOX.> would be everyone's). Service names
// have no '_', so no two (prefix, user) pairs share an inbox.
func (n Names) Inbox(user string) string {
	if n.Prefix == "" {
		return "_INBOX_" + user
	}
	return "_INBOX_" + user + "_" + n.Prefix
}
