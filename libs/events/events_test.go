package events

import (
	"testing"

	"github.com/latchkey/latchkey/libs/authn"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
)

func TestActorOf_KindFollowsTheStrongestRole(t *testing.T) {
	acct := func(roles ...string) *authn.Principal {
		return &authn.Principal{Kind: authn.KindAccount, AccountID: "a1", Roles: roles}
	}
	for _, tc := range []struct {
		name    string
		p       *authn.Principal
		kind    eventsv1.Actor_Kind_Value
		account string
	}{
		{"the system", nil, eventsv1.Actor_Kind_SYSTEM, ""},
		{"operator token", &authn.Principal{Kind: authn.KindOperatorToken}, eventsv1.Actor_Kind_OPERATOR, ""},
		{"user", acct(authn.RoleUser), eventsv1.Actor_Kind_USER, "a1"},
		{"client", acct(authn.RoleClient), eventsv1.Actor_Kind_USER, "a1"},
		{"admin", acct(authn.RoleUser, authn.RoleAdmin), eventsv1.Actor_Kind_ADMIN, "a1"},
		{"operator account that is also admin", acct(authn.RoleAdmin, authn.RoleOperator), eventsv1.Actor_Kind_OPERATOR, "a1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := ActorOf(tc.p, "why")
			if a.GetKind() != tc.kind || a.GetAccountId() != tc.account || a.GetReason() != "why" {
				t.Fatalf("actor = %v, want kind %v account %q", a, tc.kind, tc.account)
			}
		})
	}
}
