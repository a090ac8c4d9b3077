package app_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/events"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
	"github.com/latchkey/latchkey/services/account/internal/account"
	"github.com/latchkey/latchkey/services/account/internal/app"
)

func TestUpdateTenantPolicy_EventNamesTheChangedFields(t *testing.T) {
	ctx := context.Background()
	a, st, _ := newRecordingApp(t, 0)
	op := &authn.Principal{Kind: authn.KindOperatorToken, TenantCode: "acme"}
	if _, _, err := a.CreateTenant(ctx, op, app.CreateTenant{Code: "acme", Name: "Acme", Policy: account.DefaultPolicy()}); err != nil {
		t.Fatal(err)
	}
	st.take()
	for _, tc := range []struct {
		name   string
		change func(*account.Policy)
		want   string // "" when no event is due
	}{
		{"one nested field", func(p *account.Policy) { p.Password.MinLength = 14 }, "[password.minLength]"},
		{"several fields", func(p *account.Policy) {
			p.Lockout.MaxFailedAttempts = 3
			p.TermsRequired = true
			p.BrandName = "Acme Portal"
		}, "[lockout.maxFailedAttempts termsRequired brandName]"},
		{"a value it already has", func(p *account.Policy) { p.Password.MinLength = 14 }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := a.UpdateTenantPolicy(ctx, op, tc.change); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, tx := range st.take() {
				for _, ev := range tx.emits {
					if ev.Subject != events.TenantPolicyChanged {
						t.Fatalf("unexpected event %s", ev.Subject)
					}
					got = append(got, fmt.Sprint(ev.Message.(*eventsv1.TenantPolicyChanged).GetChangedFields()))
				}
			}
			want := []string{tc.want}
			if tc.want == "" {
				want = nil
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("changed fields of the events = %v, want %v", got, want)
			}
		})
	}
}
