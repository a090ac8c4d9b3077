package convert

import (
	"testing"

	"google.golang.org/protobuf/proto"

	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
	"github.com/latchkey/latchkey/services/account/internal/account"
)

func TestPolicy_RoundTripsEveryField(t *testing.T) {
	p := account.Policy{
		UsernameIsEmail: true,
		Password: account.PasswordPolicy{MinLength: 9, MinUppercase: 1, MinLowercase: 2, MinDigits: 3, MinSymbols: 4,
			HistoryCount: 6, MaxAgeDays: 90, ExpiryWarningDays: 7, CheckBreached: true, TemporaryDays: 3},
		Lockout:            account.LockoutPolicy{MaxFailedAttempts: 5, LockoutMinutes: 30},
		InactivityLockDays: 10,
		TermsRequired:      true,
		Recovery:           account.RecoveryPolicy{EmailLink: true, SecurityQuestions: true, SecurityQuestionsRequired: 2, ResetRequiresMFA: true},
		MFA:                account.MFAPolicy{Required: true, AllowedSkewSteps: 2},
		PIN:                account.PINPolicy{Enabled: true, Length: 6},
		Session:            account.SessionPolicy{MaxLifetimeHours: 48, IdleHours: 8},
		Locale:             "nl", BrandName: "B", FromAddress: "f@x.example", LinkBaseURL: "https://x.example",
	}
	var got account.Policy
	ApplyPolicy(&got, Policy(p))
	if got != p {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, p)
	}
}

func TestApplyPolicy_TouchesOnlyGivenFields(t *testing.T) {
	p := account.DefaultPolicy()
	want := p
	want.Password.MinDigits = 1
	want.TermsRequired = false
	ApplyPolicy(&p, &accountv1.TenantPolicy{
		Password:      &accountv1.PasswordPolicy{MinDigits: proto.Int32(1)},
		TermsRequired: proto.Bool(false),
	})
	if p != want {
		t.Fatalf("got %+v\nwant %+v", p, want)
	}
}

func TestRolesFromProto_UnknownNumbersStayInvalid(t *testing.T) {
	got := RolesFromProto([]accountv1.Role_Value{accountv1.Role_ADMIN, 0, 99})
	if got[0] != account.RoleAdmin || got[1] != "" || got[2] == "" || got[2] == account.RoleAdmin {
		t.Fatalf("got %v", got)
	}
}
