package natsx_test

import (
	"strings"
	"testing"

	"github.com/latchkey/latchkey/libs/natsx"
)

func TestNames_NoPrefixIsTodaysNames(t *testing.T) {
	var n natsx.Names
	if n.Stream(natsx.EventsStreamName) != "LATCHKEY_EVENTS" || n.Subject(natsx.EventsSubjects) != "latchkey.events.v1.>" ||
		n.Base("latchkey.events.v1.account.created") != "latchkey.events.v1.account.created" {
		t.Errorf("zero Names changed a name: %s %s", n.Stream(natsx.EventsStreamName), n.Subject(natsx.EventsSubjects))
	}
	ev := natsx.EventsStream(natsx.StreamOptions{})
	if ev.Name != "LATCHKEY_EVENTS" || ev.Subjects[0] != "latchkey.events.v1.>" || ev.Replicas != 1 {
		t.Errorf("events stream %s %v R%d", ev.Name, ev.Subjects, ev.Replicas)
	}
}

func TestNames_PrefixAppliesToStreamsSubjectsAndInboxes(t *testing.T) {
	n := natsx.Names{Prefix: "acme-2"}
	if got := n.Stream(natsx.NotifyStreamName); got != "acme-2_LATCHKEY_NOTIFY" {
		t.Errorf("stream %s", got)
	}
	subject := n.Subject("latchkey.events.v1.account.created")
	if subject != "acme-2.latchkey.events.v1.account.created" || n.Base(subject) != "latchkey.events.v1.account.created" {
		t.Errorf("subject %s, base %s", subject, n.Base(subject))
	}
	if n.Inbox("account") == (natsx.Names{}).Inbox("account") || n.Inbox("account") == n.Inbox("credential") {
		t.Errorf("inboxes not apart: %s", n.Inbox("account"))
	}
	ev := natsx.EventsStream(natsx.StreamOptions{Names: n, Replicas: 3})
	if ev.Name != "acme-2_LATCHKEY_EVENTS" || ev.Subjects[0] != "acme-2.latchkey.events.v1.>" || ev.Replicas != 3 {
		t.Errorf("events stream %s %v R%d", ev.Name, ev.Subjects, ev.Replicas)
	}
}

func TestCheckPrefix_OneSubjectTokenSafeInStreamNames(t *testing.T) {
	for _, ok := range []string{"", "acme", "Acme-prod_2"} {
		if err := natsx.CheckPrefix(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"acme.prod", "a*", "a>", "a b", "ä", "a/b", strings.Repeat("x", 65)} {
		if err := natsx.CheckPrefix(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
