package grpcapi

import (
	"context"

	"github.com/latchkey/latchkey/libs/authn"
	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
	"github.com/latchkey/latchkey/services/account/internal/account"
	"github.com/latchkey/latchkey/services/account/internal/app"
	"github.com/latchkey/latchkey/services/account/internal/convert"
)

type admin struct {
	accountv1.UnimplementedAccountAdminServiceServer
	app *app.App
}

func (h *admin) CreateAccount(ctx context.Context, req *accountv1.CreateAccountRequest) (*accountv1.CreateAccountResponse, error) {
	a, err := h.app.CreateAccount(ctx, authn.FromContext(ctx), app.NewAccount{
		Username: req.GetUsername(), Email: req.GetEmail(), DisplayName: req.GetDisplayName(),
		Roles: convert.RolesFromProto(req.GetRoles()), Locale: req.GetLocale(),
		Activation: convert.Activation(req.GetActivation()), TemporaryPassword: req.GetTemporaryPassword(),
	})
	if err != nil {
		return nil, err
	}
	return &accountv1.CreateAccountResponse{Account: convert.Account(a)}, nil
}

func (h *admin) ListAccounts(ctx context.Context, req *accountv1.ListAccountsRequest) (*accountv1.ListAccountsResponse, error) {
	list, next, err := h.app.ListAccounts(ctx, authn.FromContext(ctx), app.ListAccounts{
		Filter: req.GetFilter(), Status: convert.Status(req.GetStatus()), Role: convert.Role(req.GetRole()),
		PageSize: req.GetPageSize(), PageToken: req.GetPageToken(),
	})
	if err != nil {
		return nil, err
	}
	resp := &accountv1.ListAccountsResponse{NextPageToken: next}
	for _, a := range list {
		resp.Accounts = append(resp.Accounts, convert.Account(a))
	}
	return resp, nil
}

func (h *admin) GetAccount(ctx context.Context, req *accountv1.GetAccountRequest) (*accountv1.GetAccountResponse, error) {
	a, err := h.app.GetAccount(ctx, authn.FromContext(ctx), req.GetId())
	if err != nil {
		return nil, err
	}
	return &accountv1.GetAccountResponse{Account: convert.Account(a)}, nil
}

func (h *admin) GetTenant(ctx context.Context, _ *accountv1.GetTenantRequest) (*accountv1.GetTenantResponse, error) {
	t, err := h.app.GetTenant(ctx, authn.FromContext(ctx))
	if err != nil {
		return nil, err
	}
	return &accountv1.GetTenantResponse{Tenant: convert.Tenant(t)}, nil
}

func (h *admin) UpdateTenantPolicy(ctx context.Context, req *accountv1.UpdateTenantPolicyRequest) (*accountv1.UpdateTenantPolicyResponse, error) {
	p := req.GetPolicy()
	t, err := h.app.UpdateTenantPolicy(ctx, authn.FromContext(ctx), func(dst *account.Policy) { convert.ApplyPolicy(dst, p) })
	if err != nil {
		return nil, err
	}
	return &accountv1.UpdateTenantPolicyResponse{Tenant: convert.Tenant(t)}, nil
}

func (h *admin) UpdateAccount(ctx context.Context, req *accountv1.UpdateAccountRequest) (*accountv1.UpdateAccountResponse, error) {
	cmd := app.UpdateAccount{ID: req.GetId(), DisplayName: req.DisplayName, Email: req.Email, Locale: req.Locale}
	if req.Roles != nil {
		roles := convert.RolesFromProto(req.GetRoles().GetValues())
		cmd.Roles = &roles
	}
	a, err := h.app.UpdateAccount(ctx, authn.FromContext(ctx), cmd)
	if err != nil {
		return nil, err
	}
	return &accountv1.UpdateAccountResponse{Account: convert.Account(a)}, nil
}

func (h *admin) ChangeUsername(ctx context.Context, req *accountv1.ChangeUsernameRequest) (*accountv1.ChangeUsernameResponse, error) {
	a, err := h.app.ChangeUsername(ctx, authn.FromContext(ctx), req.GetId(), req.GetNewUsername())
	if err != nil {
		return nil, err
	}
	return &accountv1.ChangeUsernameResponse{Account: convert.Account(a)}, nil
}

func (h *admin) LockAccount(ctx context.Context, req *accountv1.LockAccountRequest) (*accountv1.LockAccountResponse, error) {
	a, err := h.app.LockAccount(ctx, authn.FromContext(ctx), req.GetId(), req.GetReason())
	if err != nil {
		return nil, err
	}
	return &accountv1.LockAccountResponse{Account: convert.Account(a)}, nil
}

func (h *admin) UnlockAccount(ctx context.Context, req *accountv1.UnlockAccountRequest) (*accountv1.UnlockAccountResponse, error) {
	a, err := h.app.UnlockAccount(ctx, authn.FromContext(ctx), req.GetId(), req.GetReason())
	if err != nil {
		return nil, err
	}
	return &accountv1.UnlockAccountResponse{Account: convert.Account(a)}, nil
}

func (h *admin) DisableAccount(ctx context.Context, req *accountv1.DisableAccountRequest) (*accountv1.DisableAccountResponse, error) {
	a, err := h.app.DisableAccount(ctx, authn.FromContext(ctx), req.GetId(), req.GetReason())
	if err != nil {
		return nil, err
	}
	return &accountv1.DisableAccountResponse{Account: convert.Account(a)}, nil
}

func (h *admin) ReactivateAccount(ctx context.Context, req *accountv1.ReactivateAccountRequest) (*accountv1.ReactivateAccountResponse, error) {
	a, err := h.app.ReactivateAccount(ctx, authn.FromContext(ctx), req.GetId(), req.GetReason())
	if err != nil {
		return nil, err
	}
	return &accountv1.ReactivateAccountResponse{Account: convert.Account(a)}, nil
}

func (h *admin) PublishTerms(ctx context.Context, req *accountv1.PublishTermsRequest) (*accountv1.PublishTermsResponse, error) {
	t, err := h.app.PublishTerms(ctx, authn.FromContext(ctx), req.GetVersion(), req.GetText())
	if err != nil {
		return nil, err
	}
	return &accountv1.PublishTermsResponse{Tenant: convert.Tenant(t)}, nil
}
