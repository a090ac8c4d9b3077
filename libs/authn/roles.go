package authn

import (
	"slices"

	"github.com/latchkey/latchkey/libs/errs"
)

// The roles an account holds in its tenant. Access tokens carry them, and
// every service decides with the functions below what a holder may do, so
// the rule is written once.
const (
	// RoleUser is a member of the tenant's staff.
	RoleUser = "USER"
	// RoleAdmin administers its own tenant: accounts, policy, terms.
	RoleAdmin = "ADMIN"
	// RoleClient is an external contact of the tenant: a person (such as
	// a client-portal user) with a role of their own, not a machine
	// client. They log in and reset their password like anyone else.
	RoleClient = "CLIENT"
	// RoleOperator runs the platform; it exists only in the platform's
	// own tenant.
	RoleOperator = "OPERATOR"
)

// Roles lists every role, for validating input.
var Roles = []string{RoleAdmin, RoleUser, RoleClient, RoleOperator}

// Reasons of the refusals below, stable for clients.
const (
	ReasonCredentialsMissing = "CREDENTIALS_MISSING"
	ReasonAdminOnly          = "ADMIN_ONLY"
	ReasonOperatorOnly       = "OPERATOR_ONLY"
	ReasonAccountOnly        = "ACCOUNT_ONLY"
	// ReasonOperatorAccount refuses an administrator's change of an
	// operator's account (MayActOn).
	ReasonOperatorAccount = "OPERATOR_ACCOUNT"
	// ReasonTenantRequired is the field violation on TenantHeader when an
	// operator makes an administrator call without naming a tenant.
	ReasonTenantRequired = "REQUIRED"
)

// HasRole reports whether p is a signed-in account holding role r.
// Operator tokens hold no roles.
func (p *Principal) HasRole(r string) bool {
	return p != nil && p.Kind == KindAccount && slices.Contains(p.Roles, r)
}

// IsOperator reports whether p runs the platform: an operator token, or an
// account holding the OPERATOR role.
func (p *Principal) IsOperator() bool {
	return p != nil && (p.Kind == KindOperatorToken || p.HasRole(RoleOperator))
}

// AdminScope is the tenant an administrator call acts in. Exactly one
// field is set: TenantID for an administrator acting in their own tenant,
// TenantCode for an operator acting in the tenant named in TenantHeader.
// Everything the call reads or changes is scoped to that tenant.
type AdminScope struct {
	TenantID   string
	TenantCode string
}

// AdminTenant is the one rule of which tenant an administrator call acts
// in, for every service:
//   - an operator token acts in the tenant named in TenantHeader, which
//     it must name;
//   - an OPERATOR account that names a tenant acts in that one (without
//     one, it is judged as the account it is, below);
//   - an ADMIN account acts in its own tenant, whatever header it sends;
//   - anyone else is refused (ADMIN_ONLY), an anonymous caller
//     Unauthenticated.
func AdminTenant(p *Principal) (AdminScope, error) {
	switch {
	case p == nil:
		return AdminScope{}, ErrCredentialsMissing()
	case p.Kind == KindOperatorToken || (p.HasRole(RoleOperator) && p.TenantCode != ""):
		if p.TenantCode == "" {
			return AdminScope{}, errs.Invalid(errs.Field(TenantHeader, ReasonTenantRequired,
				"an operator names the tenant to act in with the Latchkey-Tenant header"))
		}
		return AdminScope{TenantCode: p.TenantCode}, nil
	case p.HasRole(RoleAdmin):
		return AdminScope{TenantID: p.TenantID}, nil
	default:
		return AdminScope{}, errs.PermissionDenied(ReasonAdminOnly, "this call is for tenant administrators")
	}
}

// MayActOn is the rule of who may change an account holding targetRoles,
// for every administrator call that acts on one account (its password,
// lock, status, roles, login id, e-mail address, resets): an account
// holding OPERATOR is changed by operators only. Administrators of the
// platform tenant, where operator accounts live, would otherwise take an
// operator's account over by setting its password. p has passed
// AdminTenant already.
func MayActOn(p *Principal, targetRoles []string) error {
	if slices.Contains(targetRoles, RoleOperator) && !p.IsOperator() {
		return errs.PermissionDenied(ReasonOperatorAccount, "only operators may change an operator's account")
	}
	return nil
}

// RequireOperator admits the platform's operators only (IsOperator).
func RequireOperator(p *Principal) error {
	switch {
	case p == nil:
		return ErrCredentialsMissing()
	case p.IsOperator():
		return nil
	default:
		return errs.PermissionDenied(ReasonOperatorOnly, "this call is for platform operators")
	}
}

// RequireAccount admits signed-in accounts only: for calls about the
// caller's own account, which an operator token does not have.
func RequireAccount(p *Principal) error {
	switch {
	case p == nil:
		return ErrCredentialsMissing()
	case p.Kind != KindAccount:
		return errs.PermissionDenied(ReasonAccountOnly, "this call is about the signed-in account: use an access token")
	}
	return nil
}

// ErrCredentialsMissing is the refusal of a call that needs credentials
// and carries none.
func ErrCredentialsMissing() error {
	return errs.Unauthenticated(ReasonCredentialsMissing, "this call needs an access token or an operator token (Authorization: Bearer …)")
}
