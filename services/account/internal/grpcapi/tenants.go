package grpcapi

import (
	"context"

	"google.golang.org/protobuf/proto"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/idempotency"
	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
	"github.com/latchkey/latchkey/services/account/internal/account"
	"github.com/latchkey/latchkey/services/account/internal/app"
	"github.com/latchkey/latchkey/services/account/internal/convert"
)

type tenants struct {
	accountv1.UnimplementedTenantServiceServer
	app *app.App
}

func (h *tenants) CreateTenant(ctx context.Context, req *accountv1.CreateTenantRequest) (*accountv1.CreateTenantResponse, error) {
	policy := account.DefaultPolicy()
	convert.ApplyPolicy(&policy, req.GetPolicy())
	cmd := app.CreateTenant{Code: req.GetCode(), Name: req.GetName(), Policy: policy}
	if fa := req.GetFirstAdmin(); fa != nil {
		cmd.FirstAdmin = &app.NewAccount{
			Username: fa.GetUsername(), Email: fa.GetEmail(), DisplayName: fa.GetDisplayName(),
			Activation: convert.Activation(fa.GetActivation()), TemporaryPassword: fa.GetTemporaryPassword(),
		}
	}
	// The temporary password is left out of the fingerprint: the account
	// service keeps no trace of a password, not even a hash.
	fp := proto.Clone(req).(*accountv1.CreateTenantRequest)
	if fp.FirstAdmin != nil {
		fp.FirstAdmin.TemporaryPassword = ""
	}
	var err error
	if cmd.Idempotency, err = idempotency.FromCall(ctx, fp); err != nil {
		return nil, err
	}
	t, admin, err := h.app.CreateTenant(ctx, authn.FromContext(ctx), cmd)
	if err != nil {
		return nil, err
	}
	resp := &accountv1.CreateTenantResponse{Tenant: convert.Tenant(t)}
	if admin != nil {
		resp.FirstAdmin = convert.Account(admin)
	}
	return resp, nil
}

func (h *tenants) ListTenants(ctx context.Context, req *accountv1.ListTenantsRequest) (*accountv1.ListTenantsResponse, error) {
	list, next, err := h.app.ListTenants(ctx, authn.FromContext(ctx), req.GetFilter(), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &accountv1.ListTenantsResponse{NextPageToken: next}
	for _, t := range list {
		resp.Tenants = append(resp.Tenants, convert.Tenant(t))
	}
	return resp, nil
}

func (h *tenants) UpdateTenant(ctx context.Context, req *accountv1.UpdateTenantRequest) (*accountv1.UpdateTenantResponse, error) {
	cmd := app.UpdateTenant{Code: req.GetCode(), Name: req.Name}
	if p := req.GetPolicy(); p != nil {
		cmd.Policy = func(dst *account.Policy) { convert.ApplyPolicy(dst, p) }
	}
	t, err := h.app.UpdateTenant(ctx, authn.FromContext(ctx), cmd)
	if err != nil {
		return nil, err
	}
	return &accountv1.UpdateTenantResponse{Tenant: convert.Tenant(t)}, nil
}
