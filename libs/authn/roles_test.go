package authn

import (
	"errors"
	"testing"

	"github.com/latchkey/latchkey/libs/errs"
)

const (
	ownTenant   = "0190a6b0-0000-7000-8000-000000000001"
	otherTenant = "acme"
)

func account(tenantCode string, roles ...string) *Principal {
	return &Principal{Kind: KindAccount, AccountID: "a1", TenantID: ownTenant, Roles: roles, TenantCode: tenantCode}
}

func operatorToken(tenantCode string) *Principal {
	return &Principal{Kind: KindOperatorToken, TenantCode: tenantCode}
}

// refusal describes an expected error: its kind and reason, or for an
// Invalid the field violation's field and reason.
type refusal struct {
	kind   errs.Kind
	reason string
	field  string
}

func checkRefusal(t *testing.T, err error, want *refusal) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("refused: %v", err)
		}
		return
	}
	var e *errs.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want an errs %v %s", err, want.kind, want.reason)
	}
	if e.Kind != want.kind {
		t.Fatalf("kind = %v, want %v (%v)", e.Kind, want.kind, err)
	}
	if want.field != "" {
		if len(e.Fields) != 1 || e.Fields[0].Field != want.field || e.Fields[0].Reason != want.reason {
			t.Fatalf("fields = %+v, want %s/%s", e.Fields, want.field, want.reason)
		}
		return
	}
	if e.Reason != want.reason {
		t.Fatalf("reason = %q, want %q", e.Reason, want.reason)
	}
}

var (
	missing     = &refusal{kind: errs.KindUnauthenticated, reason: ReasonCredentialsMissing}
	adminOnly   = &refusal{kind: errs.KindPermissionDenied, reason: ReasonAdminOnly}
	noTenant    = &refusal{kind: errs.KindInvalid, field: TenantHeader, reason: ReasonTenantRequired}
	opOnly      = &refusal{kind: errs.KindPermissionDenied, reason: ReasonOperatorOnly}
	accountOnly = &refusal{kind: errs.KindPermissionDenied, reason: ReasonAccountOnly}
)

func TestAdminTenant_WhoActsInWhichTenant(t *testing.T) {
	cases := []struct {
		name string
		p    *Principal
		want AdminScope
		err  *refusal
	}{
		{"anonymous", nil, AdminScope{}, missing},
		{"operator token naming a tenant acts there", operatorToken(otherTenant), AdminScope{TenantCode: otherTenant}, nil},
		{"operator token without a tenant must name one", operatorToken(""), AdminScope{}, noTenant},
		{"ADMIN acts in its own tenant", account("", RoleAdmin), AdminScope{TenantID: ownTenant}, nil},
		{"ADMIN naming another tenant still acts in its own", account(otherTenant, RoleUser, RoleAdmin), AdminScope{TenantID: ownTenant}, nil},
		{"OPERATOR account naming a tenant acts there", account(otherTenant, RoleOperator), AdminScope{TenantCode: otherTenant}, nil},
		{"OPERATOR and ADMIN without a tenant acts in its own", account("", RoleOperator, RoleAdmin), AdminScope{TenantID: ownTenant}, nil},
		{"OPERATOR alone without a tenant is no administrator", account("", RoleOperator), AdminScope{}, adminOnly},
		{"USER", account("", RoleUser), AdminScope{}, adminOnly},
		{"USER naming a tenant", account(otherTenant, RoleUser), AdminScope{}, adminOnly},
		{"CLIENT", account("", RoleClient), AdminScope{}, adminOnly},
		{"no roles", account(""), AdminScope{}, adminOnly},
		{"role names are exact", account("", "admin", "Operator"), AdminScope{}, adminOnly},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := AdminTenant(c.p)
			checkRefusal(t, err, c.err)
			if got != c.want {
				t.Fatalf("scope = %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestRequireOperatorAndAccount(t *testing.T) {
	cases := []struct {
		name    string
		require func(*Principal) error
		p       *Principal
		err     *refusal
	}{
		{"operator: anonymous", RequireOperator, nil, missing},
		{"operator: operator token", RequireOperator, operatorToken(""), nil},
		{"operator: OPERATOR account", RequireOperator, account("", RoleOperator), nil},
		{"operator: ADMIN account", RequireOperator, account("", RoleAdmin), opOnly},
		{"operator: USER account", RequireOperator, account("", RoleUser), opOnly},
		{"account: anonymous", RequireAccount, nil, missing},
		{"account: operator token", RequireAccount, operatorToken("acme"), accountOnly},
		{"account: any account", RequireAccount, account(""), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkRefusal(t, c.require(c.p), c.err) })
	}
}

func TestPrincipal_HasRoleAndIsOperator(t *testing.T) {
	cases := []struct {
		name              string
		p                 *Principal
		admin, isOperator bool
	}{
		{"nil", nil, false, false},
		{"operator token holds no roles", &Principal{Kind: KindOperatorToken, Roles: []string{RoleAdmin}}, false, true},
		{"ADMIN", account("", RoleAdmin), true, false},
		{"OPERATOR", account("", RoleOperator), false, true},
		{"USER", account("", RoleUser), false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.p.HasRole(RoleAdmin); got != c.admin {
				t.Errorf("HasRole(ADMIN) = %v", got)
			}
			if got := c.p.IsOperator(); got != c.isOperator {
				t.Errorf("IsOperator = %v", got)
			}
		})
	}
}

func TestMayActOn_OperatorAccountsAreChangedByOperatorsOnly(t *testing.T) {
	opAccount := &refusal{kind: errs.KindPermissionDenied, reason: ReasonOperatorAccount}
	cases := []struct {
		name   string
		p      *Principal
		target []string
		err    *refusal
	}{
		{"platform ADMIN on an OPERATOR", account("", RoleAdmin), []string{RoleOperator, RoleAdmin}, opAccount},
		{"platform ADMIN on an OPERATOR alone", account("", RoleAdmin, RoleUser), []string{RoleOperator}, opAccount},
		{"platform ADMIN on an ADMIN", account("", RoleAdmin), []string{RoleAdmin}, nil},
		{"platform ADMIN on a USER", account("", RoleAdmin), []string{RoleUser}, nil},
		{"OPERATOR account on an OPERATOR", account("", RoleOperator, RoleAdmin), []string{RoleOperator, RoleAdmin}, nil},
		{"operator token on an OPERATOR", operatorToken("platform"), []string{RoleOperator}, nil},
		{"role names are exact", account("", RoleAdmin), []string{"operator"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkRefusal(t, MayActOn(c.p, c.target), c.err) })
	}
}
