package allinone_test

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/latchkey/latchkey/cmd/allinone"
	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/events"
	"github.com/latchkey/latchkey/libs/natsx"
	"github.com/latchkey/latchkey/libs/outbox"
	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
)

// A change of an account's roles ends its sessions at once: a demoted
// admin's access token is refused on admin routes within a second (not
// when it expires), and its next log-in carries the new roles.
func TestRoleChange_DemotedAdminsTokenRefusedWithinASecond(t *testing.T) {
	eachStoreWithClock(t, func(t *testing.T, op client, _ *allinone.Instance, _ *clock.Fake) {
		code, _, admin := adminTenant(t, op, nil)
		anon := client{t: t, base: op.base}
		id, _ := userWithPassword(t, admin, code, "deputy", "Harbour-Lights-77")
		if st, body := admin.do("PATCH", "/v1/admin/accounts/"+id, map[string]any{"roles": []string{"ADMIN"}}); st != 200 {
			t.Fatalf("promote: %d %v", st, body)
		}
		st, tokens := login(anon, code, "deputy", "Harbour-Lights-77")
		if st != 200 || tokens["accessToken"] == nil {
			t.Fatalf("deputy logs in as ADMIN: %d %v", st, tokens)
		}
		deputy := client{t: t, base: op.base, token: tokens["accessToken"].(string)}
		if st, body := deputy.do("GET", "/v1/admin/accounts", nil); st != 200 {
			t.Fatalf("admin route as ADMIN: %d %v", st, body)
		}

		if st, body := admin.do("PATCH", "/v1/admin/accounts/"+id, map[string]any{"roles": []string{"USER"}}); st != 200 {
			t.Fatalf("demote: %d %v", st, body)
		}
		waitStatus(t, func() int { st, _ := deputy.do("GET", "/v1/admin/accounts", nil); return st }, 401)
		if st, _ := anon.do("POST", "/v1/auth/token:refresh", map[string]any{"refreshToken": tokens["refreshToken"]}); st != 401 {
			t.Fatalf("refresh of the demoted admin's session: %d, want 401", st)
		}
		_, tokens = login(anon, code, "deputy", "Harbour-Lights-77")
		deputy.token, _ = tokens["accessToken"].(string)
		if st, _ := deputy.do("GET", "/v1/admin/accounts", nil); st != 403 {
			t.Fatalf("admin route after logging in again as USER: %d, want 403", st)
		}
		// A change that leaves the roles alone ends nothing.
		if st, body := admin.do("PATCH", "/v1/admin/accounts/"+id, map[string]any{"displayName": "Deputy"}); st != 200 {
			t.Fatalf("rename: %d %v", st, body)
		}
		if st, _ := deputy.do("GET", "/v1/me", nil); st != 200 {
			t.Fatalf("me after a change of the display name: %d, want 200", st)
		}
	})
}

// The account service's event alone ends the sessions: when its direct
// call to the credential service fails, the AccountUpdated event naming
// the roles, relayed from its outbox, reaches the credential service's
// consumer, which revokes the sessions begun before the change.
func TestRoleChange_EventAloneEndsTheSessions(t *testing.T) {
	eachStoreWithClock(t, func(t *testing.T, op client, inst *allinone.Instance, clk *clock.Fake) {
		code, tenantID, admin := adminTenant(t, op, nil)
		anon := client{t: t, base: op.base}
		id, _ := userWithPassword(t, admin, code, "deputy", "Harbour-Lights-77")
		_, tokens := login(anon, code, "deputy", "Harbour-Lights-77")
		deputy := client{t: t, base: op.base, token: tokens["accessToken"].(string)}
		if st, body := deputy.do("GET", "/v1/me", nil); st != 200 {
			t.Fatalf("me before the event: %d %v", st, body)
		}

		// What the account service's outbox relays after a change of
		// roles (the direct call having failed).
		nc, err := nats.Connect(inst.NATSURL)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		meta := events.NewMeta(tenantID, events.ActorOf(nil, ""), clk.Now())
		ev := &eventsv1.AccountUpdated{Meta: meta, AccountId: id, ChangedFields: []string{"roles"},
			Roles: []accountv1.Role_Value{accountv1.Role_USER}}
		data, err := proto.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		// With the type header, as the outbox relays every event.
		header := map[string]string{outbox.HeaderEventType: string(ev.ProtoReflect().Descriptor().FullName())}
		if _, err := natsx.PublishMsg(context.Background(), js, inst.NATSNames.Subject(events.AccountUpdated), meta.EventId, data, header); err != nil {
			t.Fatal(err)
		}
		waitStatus(t, func() int { st, _ := deputy.do("GET", "/v1/me", nil); return st }, 401)
		if st, _ := anon.do("POST", "/v1/auth/token:refresh", map[string]any{"refreshToken": tokens["refreshToken"]}); st != 401 {
			t.Fatalf("refresh of a session the event ended: %d, want 401", st)
		}
	})
}
