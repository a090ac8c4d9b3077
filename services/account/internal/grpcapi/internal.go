package grpcapi

import (
	"context"
	"errors"
	"time"

	"github.com/latchkey/latchkey/libs/clock"

	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
	"github.com/latchkey/latchkey/services/account/internal/app"
	"github.com/latchkey/latchkey/services/account/internal/convert"
)

// internal serves the other Latchkey services; the edge never routes to it.
type internal struct {
	accountv1.UnimplementedAccountInternalServiceServer
	app *app.App
}

func (h *internal) ResolveLogin(ctx context.Context, req *accountv1.ResolveLoginRequest) (*accountv1.ResolveLoginResponse, error) {
	t, a, err := h.app.ResolveLogin(ctx, req.GetTenantCode(), req.GetLogin())
	if err != nil {
		return nil, err
	}
	return &accountv1.ResolveLoginResponse{Tenant: convert.Tenant(t), Account: convert.Account(a)}, nil
}

func (h *internal) LookupAccount(ctx context.Context, req *accountv1.LookupAccountRequest) (*accountv1.LookupAccountResponse, error) {
	a, err := h.app.LookupAccount(ctx, req.GetTenantId(), req.GetAccountId())
	if err != nil {
		return nil, err
	}
	return &accountv1.LookupAccountResponse{Account: convert.Account(a)}, nil
}

func (h *internal) GetTenantPolicy(ctx context.Context, req *accountv1.GetTenantPolicyRequest) (*accountv1.GetTenantPolicyResponse, error) {
	t, err := h.app.TenantByID(ctx, req.GetTenantId())
	if err != nil {
		return nil, err
	}
	return &accountv1.GetTenantPolicyResponse{Tenant: convert.Tenant(t)}, nil
}

func (h *internal) GetTenantByCode(ctx context.Context, req *accountv1.GetTenantByCodeRequest) (*accountv1.GetTenantByCodeResponse, error) {
	t, err := h.app.TenantByCode(ctx, req.GetCode())
	if err != nil {
		return nil, err
	}
	return &accountv1.GetTenantByCodeResponse{Tenant: convert.Tenant(t)}, nil
}

func (h *internal) RecordLockout(ctx context.Context, req *accountv1.RecordLockoutRequest) (*accountv1.RecordLockoutResponse, error) {
	var until *time.Time
	if req.UnlockTime != nil {
		t := clock.Normalize(req.UnlockTime.AsTime())
		until = &t
	}
	a, err := h.app.RecordLockout(ctx, req.GetTenantId(), req.GetAccountId(), convert.LockReason(req.GetReason()), until)
	if err != nil {
		return nil, err
	}
	return &accountv1.RecordLockoutResponse{Account: convert.Account(a)}, nil
}

func (h *internal) RecordTermsAcceptance(ctx context.Context, req *accountv1.RecordTermsAcceptanceRequest) (*accountv1.RecordTermsAcceptanceResponse, error) {
	a, err := h.app.RecordTermsAcceptance(ctx, req.GetTenantId(), req.GetAccountId(), req.GetVersion())
	if err != nil {
		return nil, err
	}
	return &accountv1.RecordTermsAcceptanceResponse{Account: convert.Account(a)}, nil
}

func (h *internal) SweepInactive(ctx context.Context, _ *accountv1.SweepInactiveRequest) (*accountv1.SweepInactiveResponse, error) {
	n, err := h.app.SweepInactive(ctx)
	if errors.Is(err, app.ErrSweepRunning) {
		return &accountv1.SweepInactiveResponse{Skipped: true}, nil
	}
	if err != nil {
		return nil, err
	}
	return &accountv1.SweepInactiveResponse{LockedCount: int32(n)}, nil
}
