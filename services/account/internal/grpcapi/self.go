package grpcapi

import (
	"context"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/latchkey/latchkey/libs/authn"
	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
	credentialv1 "github.com/latchkey/latchkey/proto/gen/latchkey/credential/v1"
	"github.com/latchkey/latchkey/services/account/internal/app"
	"github.com/latchkey/latchkey/services/account/internal/convert"
)

// self is the signed-in user's service.
type self struct {
	accountv1.UnimplementedAccountServiceServer
	app *app.App
}

func (h *self) GetMe(ctx context.Context, _ *accountv1.GetMeRequest) (*accountv1.GetMeResponse, error) {
	me, err := h.app.GetMe(ctx, authn.FromContext(ctx))
	if err != nil {
		return nil, err
	}
	resp := &accountv1.GetMeResponse{
		Account: convert.Account(me.Account), TenantCode: me.Tenant.Code,
		Security: &accountv1.SecuritySummary{TotpEnabled: me.Security.TOTPEnabled, RecoveryInfoSet: me.Security.RecoveryInfoSet},
	}
	for _, s := range me.PendingSteps {
		resp.PendingSteps = append(resp.PendingSteps, credentialv1.LoginStep_Value(credentialv1.LoginStep_Value_value[s]))
	}
	for _, p := range me.Prompts {
		resp.Prompts = append(resp.Prompts, credentialv1.Prompt_Value(credentialv1.Prompt_Value_value[p]))
	}
	if pw := me.Password; pw != nil {
		resp.Security.PinSet = pw.PINSet
		if pw.ChangedAt != nil {
			resp.Security.PasswordChangeTime = timestamppb.New(*pw.ChangedAt)
		}
		if pw.ExpiresAt != nil {
			resp.Security.PasswordExpireTime = timestamppb.New(*pw.ExpiresAt)
		}
	}
	return resp, nil
}

func (h *self) AcceptTerms(ctx context.Context, req *accountv1.AcceptTermsRequest) (*accountv1.AcceptTermsResponse, error) {
	a, err := h.app.AcceptTerms(ctx, authn.FromContext(ctx), req.GetVersion())
	if err != nil {
		return nil, err
	}
	return &accountv1.AcceptTermsResponse{Account: convert.Account(a)}, nil
}

func (h *self) GetCurrentTerms(ctx context.Context, req *accountv1.GetCurrentTermsRequest) (*accountv1.GetCurrentTermsResponse, error) {
	t, err := h.app.CurrentTerms(ctx, req.GetTenant())
	if err != nil || t == nil {
		return &accountv1.GetCurrentTermsResponse{}, err
	}
	return &accountv1.GetCurrentTermsResponse{Version: t.Version, Text: t.Text, PublishTime: timestamppb.New(t.PublishedAt)}, nil
}

func (h *self) GetAppearance(ctx context.Context, req *accountv1.GetAppearanceRequest) (*accountv1.GetAppearanceResponse, error) {
	ap, err := h.app.GetAppearance(ctx, req.GetCode())
	if err != nil {
		return nil, err
	}
	p := ap.Policy
	return &accountv1.GetAppearanceResponse{
		Code: ap.Code, BrandName: p.BrandName, Locale: p.Locale,
		PasswordRules: convert.PasswordRules(p.Password),
		Recovery:      &accountv1.RecoveryOptions{EmailLink: p.Recovery.EmailLink, SecurityQuestions: p.Recovery.SecurityQuestions},
		PinEnabled:    p.PIN.Enabled,
	}, nil
}
