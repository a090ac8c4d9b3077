package app

import (
	"context"
	"slices"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/services/credential/internal/credential"
)

// This file holds who may call: the signed-in account, the administrator's
// tenant, and the ids callers send.

// signedIn returns the account of a signed-in caller.
func (a *App) signedIn(ctx context.Context, p *authn.Principal) (*credential.Subject, error) {
	if p == nil {
		return nil, errs.Unauthenticated("CREDENTIALS_MISSING", "this call needs an access token (Authorization: Bearer …)")
	}
	if p.Kind != authn.KindAccount {
		return nil, errs.PermissionDenied("ACCOUNT_ONLY", "this call is for signed-in accounts")
	}
	return a.Accounts.Lookup(ctx, p.TenantID, p.AccountID)
}

// adminTenant is the tenant an administrator acts in: their own, or for an
// operator token the one named in the Latchkey-Tenant header.
func (a *App) adminTenant(ctx context.Context, p *authn.Principal) (string, error) {
	switch {
	case p == nil:
		return "", errs.Unauthenticated("CREDENTIALS_MISSING", "this call needs an access token (Authorization: Bearer …)")
	case p.Kind == authn.KindOperatorToken || (p.Kind == authn.KindAccount && slices.Contains(p.Roles, "OPERATOR") && p.TenantCode != ""):
		if p.TenantCode == "" {
			return "", errs.Invalid(errs.Field(authn.TenantHeader, "REQUIRED",
				"an operator names the tenant to act in with the Latchkey-Tenant header"))
		}
		return a.Accounts.TenantID(ctx, p.TenantCode)
	case p.Kind == authn.KindAccount:
		for _, r := range p.Roles {
			if r == "ADMIN" {
				return p.TenantID, nil
			}
		}
	}
	return "", errs.PermissionDenied("ADMIN_ONLY", "this call is for tenant administrators")
}

func checkID(field, id string) error {
	if !ids.Valid(id) {
		return errs.Invalid(errs.Field(field, "INVALID_FORMAT", "not an id Latchkey gave out"))
	}
	return nil
}
