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
