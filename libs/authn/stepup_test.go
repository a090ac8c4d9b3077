package authn

import (
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/errs"
)

func TestRequireRecentAuth(t *testing.T) {
	now := testNow
	account := func(authAt time.Time) *Principal {
		return &Principal{Kind: KindAccount, AccountID: "a", AuthTime: authAt}
	}
	for _, tc := range []struct {
		name   string
		p      *Principal
		kind   errs.Kind
		reason string
	}{
		{"just authenticated", account(now), 0, ""},
		{"at exactly the limit", account(now.Add(-ReauthMaxAge)), 0, ""},
		{"a second too old", account(now.Add(-ReauthMaxAge - time.Second)), errs.KindPermissionDenied, ReasonReauthenticationRequired},
		{"no auth_time", account(time.Time{}), errs.KindPermissionDenied, ReasonReauthenticationRequired},
		{"operator token", &Principal{Kind: KindOperatorToken}, errs.KindPermissionDenied, "ACCESS_TOKEN_REQUIRED"},
		{"anonymous", nil, errs.KindUnauthenticated, "CREDENTIALS_MISSING"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := RequireRecentAuth(tc.p, now, ReauthMaxAge)
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("err = %v, want nil", err)
				}
				return
			}
			if !errs.Is(err, tc.kind) || reasonOf(err) != tc.reason {
				t.Fatalf("err = %v (reason %q), want %v %s", err, reasonOf(err), tc.kind, tc.reason)
			}
		})
	}
}
