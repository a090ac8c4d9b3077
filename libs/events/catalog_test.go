package events

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
)

// The files the catalog is held to, from this package's folder.
const (
	eventsProto = "../../proto/latchkey/events/v1/events.proto"
	eventsDoc   = "../../docs/events.md"
)

// The generated part of docs/events.md lies between these lines.
const (
	docBegin = "<!-- BEGIN catalog: generated from libs/events.Catalog by TestCatalog_DocIsCurrent -->"
	docEnd   = "<!-- END catalog -->"
)

// updateDocsEnv, set to 1, has TestCatalog_DocIsCurrent rewrite the table.
const updateDocsEnv = "LATCHKEY_TEST_UPDATE_DOCS"

// eventMessages are the messages of events.proto whose field 1 is the
// EventMeta every event starts with.
func eventMessages() []protoreflect.MessageDescriptor {
	meta := (&eventsv1.EventMeta{}).ProtoReflect().Descriptor().FullName()
	var out []protoreflect.MessageDescriptor
	msgs := eventsv1.File_latchkey_events_v1_events_proto.Messages()
	for i := range msgs.Len() {
		m := msgs.Get(i)
		if f := m.Fields().ByNumber(1); f != nil && f.Message() != nil && f.Message().FullName() == meta {
			out = append(out, m)
		}
	}
	return out
}

func TestCatalog_HoldsEveryEventMessageOnce(t *testing.T) {
	types := map[string]bool{}
	subjects := map[string]bool{}
	for _, e := range Catalog() {
		if types[e.Type()] || subjects[e.Subject] {
			t.Errorf("%s (%s) is in the catalog twice", e.Type(), e.Subject)
		}
		types[e.Type()], subjects[e.Subject] = true, true
		if !strings.HasPrefix(e.Subject, Prefix) {
			t.Errorf("%s: subject %q is not under %s", e.Type(), e.Subject, Prefix)
		}
		if e.Publisher == "" || e.When == "" {
			t.Errorf("%s: the catalog must say who publishes it and when", e.Type())
		}
	}
	msgs := eventMessages()
	for _, m := range msgs {
		if !types[string(m.FullName())] {
			t.Errorf("event %s of events.proto is missing from libs/events.Catalog (and so from docs/events.md)", m.FullName())
		}
	}
	if len(msgs) != len(types) {
		t.Errorf("events.proto has %d events, the catalog %d", len(msgs), len(types))
	}
}

// TestCatalog_SubjectsAreTheProtoFilesOwn holds each entry to the
// "// Subject ..." comment above its message in events.proto, and to the
// list of subjects at the top of that file.
func TestCatalog_SubjectsAreTheProtoFilesOwn(t *testing.T) {
	src, err := os.ReadFile(eventsProto)
	if err != nil {
		t.Fatal(err)
	}
	commented := map[string]string{} // message name → subject
	re := regexp.MustCompile(`(?m)^// Subject (latchkey\.events\.v1\.[a-z_.]*[a-z_])[.:]?[^\n]*\n(?://[^\n]*\n)*message (\w+) \{`)
	for _, m := range re.FindAllStringSubmatch(string(src), -1) {
		commented[m[2]] = m[1]
	}
	header, _, _ := strings.Cut(string(src), "syntax =")
	for _, e := range Catalog() {
		name := string(e.Message.ProtoReflect().Descriptor().Name())
		if got := commented[name]; got != e.Subject {
			t.Errorf("%s: the catalog says subject %q, events.proto's comment %q", name, e.Subject, got)
		}
		if !regexp.MustCompile(`(?m)^//\s+` + regexp.QuoteMeta(e.Subject) + `\s+` + name + `$`).MatchString(header) {
			t.Errorf("%s: %s is not in the subject list at the top of events.proto", name, e.Subject)
		}
	}
}

// TestCatalog_EveryFieldIsClassified makes a new event field say whether
// it is personal data before the catalog can list the event.
func TestCatalog_EveryFieldIsClassified(t *testing.T) {
	for _, m := range eventMessages() {
		fields := m.Fields()
		for i := range fields.Len() {
			f := fields.Get(i)
			if personal(f) == "" && !NotPersonalFields[string(f.Name())] {
				t.Errorf("%s: add it to libs/events PersonalFields (what it tells about a person) or NotPersonalFields", f.FullName())
			}
		}
	}
	for _, tc := range []struct {
		event protoreflect.ProtoMessage
		want  string
	}{
		{&eventsv1.AccountCreated{}, "username, e-mail address, name, language"},
		{&eventsv1.LoginSucceeded{}, "IP address, user agent, device name"},
		{&eventsv1.LoginFailed{}, "IP address, user agent"},
		{&eventsv1.NotificationFailed{}, "error text (may quote the e-mail address)"},
		{&eventsv1.SessionRevoked{}, ""},
	} {
		e := Entry{Message: tc.event}
		if got := strings.Join(e.PersonalData(), ", "); got != tc.want {
			t.Errorf("%s: personal data %q, want %q", e.Type(), got, tc.want)
		}
	}
}

// TestCatalog_DocIsCurrent keeps the table of docs/events.md what
// CatalogTable renders; LATCHKEY_TEST_UPDATE_DOCS=1 rewrites it.
func TestCatalog_DocIsCurrent(t *testing.T) {
	raw, err := os.ReadFile(eventsDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	before, rest, ok1 := strings.Cut(doc, docBegin+"\n")
	have, after, ok2 := strings.Cut(rest, docEnd)
	if !ok1 || !ok2 {
		t.Fatalf("%s: the lines %q and %q around the catalog table are missing", eventsDoc, docBegin, docEnd)
	}
	want := CatalogTable()
	if have == want {
		return
	}
	if os.Getenv(updateDocsEnv) == "1" {
		if err := os.WriteFile(eventsDoc, []byte(before+docBegin+"\n"+want+docEnd+after), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s rewritten", eventsDoc)
		return
	}
	t.Errorf("%s is not the catalog of libs/events; run %s=1 go test ./libs/events/ -run TestCatalog_DocIsCurrent\nwant:\n%s", eventsDoc, updateDocsEnv, want)
}
