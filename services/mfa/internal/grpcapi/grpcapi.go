// Package grpcapi is the mfa service's gRPC surface: thin handlers that
// turn protos into the domain, call one use case and turn the result
// back. The public services take the caller from the context (the
// authenticator's interceptor); the internal one trusts its callers'
// certificates (Callers).
package grpcapi

import (
	"context"

	"google.golang.org/grpc"

	"github.com/latchkey/latchkey/libs/authn"
	mfainternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/mfa/v1"
	mfav1 "github.com/latchkey/latchkey/proto/gen/latchkey/mfa/v1"
	"github.com/latchkey/latchkey/services/mfa/internal/app"
	"github.com/latchkey/latchkey/services/mfa/internal/convert"
)

// RegisterPublic adds the public services, the gateway's backends.
func RegisterPublic(s grpc.ServiceRegistrar, use *app.App) {
	mfav1.RegisterMfaServiceServer(s, &mfaService{use: use})
	mfav1.RegisterMfaAdminServiceServer(s, &mfaAdminService{use: use})
}

// RegisterInternal adds the internal service, for the other services.
func RegisterInternal(s grpc.ServiceRegistrar, use *app.App) {
	mfainternalv1.RegisterMfaInternalServiceServer(s, &mfaInternalService{use: use})
}

type mfaService struct {
	mfav1.UnimplementedMfaServiceServer
	use *app.App
}

func (h *mfaService) ListFactors(ctx context.Context, _ *mfav1.ListFactorsRequest) (*mfav1.ListFactorsResponse, error) {
	fs, err := h.use.ListFactors(ctx, authn.FromContext(ctx))
	if err != nil {
		return nil, err
	}
	resp := &mfav1.ListFactorsResponse{RecoveryCodesRemaining: int32(fs.RecoveryCodesRemaining)}
	for _, f := range fs.Factors {
		resp.Factors = append(resp.Factors, convert.Factor(f))
	}
	return resp, nil
}

func (h *mfaService) EnrollTotp(ctx context.Context, _ *mfav1.EnrollTotpRequest) (*mfav1.EnrollTotpResponse, error) {
	k, err := h.use.EnrollTotp(ctx, authn.FromContext(ctx))
	if err != nil {
		return nil, err
	}
	return &mfav1.EnrollTotpResponse{Secret: k.Secret, OtpauthUri: k.URI, QrPng: k.QRPNG}, nil
}

func (h *mfaService) ConfirmTotp(ctx context.Context, req *mfav1.ConfirmTotpRequest) (*mfav1.ConfirmTotpResponse, error) {
	codes, err := h.use.ConfirmTotp(ctx, authn.FromContext(ctx), req.GetCode())
	if err != nil {
		return nil, err
	}
	return &mfav1.ConfirmTotpResponse{RecoveryCodes: codes}, nil
}

func (h *mfaService) RegenerateRecoveryCodes(ctx context.Context, _ *mfav1.RegenerateRecoveryCodesRequest) (*mfav1.RegenerateRecoveryCodesResponse, error) {
	codes, err := h.use.RegenerateRecoveryCodes(ctx, authn.FromContext(ctx))
	if err != nil {
		return nil, err
	}
	return &mfav1.RegenerateRecoveryCodesResponse{RecoveryCodes: codes}, nil
}

func (h *mfaService) DisableTotp(ctx context.Context, _ *mfav1.DisableTotpRequest) (*mfav1.DisableTotpResponse, error) {
	if err := h.use.DisableTotp(ctx, authn.FromContext(ctx)); err != nil {
		return nil, err
	}
	return &mfav1.DisableTotpResponse{}, nil
}

func (h *mfaService) RequestKey(ctx context.Context, req *mfav1.RequestKeyRequest) (*mfav1.RequestKeyResponse, error) {
	if err := h.use.RequestKey(ctx, req.GetTenant(), req.GetLogin()); err != nil {
		return nil, err
	}
	return &mfav1.RequestKeyResponse{}, nil
}

type mfaAdminService struct {
	mfav1.UnimplementedMfaAdminServiceServer
	use *app.App
}

func (h *mfaAdminService) ResetMfa(ctx context.Context, req *mfav1.ResetMfaRequest) (*mfav1.ResetMfaResponse, error) {
	if err := h.use.ResetMfa(ctx, authn.FromContext(ctx), req.GetId()); err != nil {
		return nil, err
	}
	return &mfav1.ResetMfaResponse{}, nil
}

type mfaInternalService struct {
	mfainternalv1.UnimplementedMfaInternalServiceServer
	use *app.App
}

func (h *mfaInternalService) VerifyCode(ctx context.Context, req *mfainternalv1.VerifyCodeRequest) (*mfainternalv1.VerifyCodeResponse, error) {
	m, err := h.use.VerifyCode(ctx, req.GetTenantId(), req.GetAccountId(), req.GetCode(), req.GetAllowRecoveryCode())
	if err != nil {
		return nil, err
	}
	return &mfainternalv1.VerifyCodeResponse{Ok: m != "", Method: convert.Method(m)}, nil
}

func (h *mfaInternalService) GetFactorStatus(ctx context.Context, req *mfainternalv1.GetFactorStatusRequest) (*mfainternalv1.GetFactorStatusResponse, error) {
	st, err := h.use.GetFactorStatus(ctx, req.GetTenantId(), req.GetAccountId())
	if err != nil {
		return nil, err
	}
	return &mfainternalv1.GetFactorStatusResponse{
		TotpEnabled: st.TOTPEnabled, EnableTime: convert.Time(st.EnabledAt),
		RecoveryCodesRemaining: int32(st.RecoveryCodesRemaining), EmailedKeyPending: st.EmailedKeyPending,
	}, nil
}

func (h *mfaInternalService) StartTotpEnrollment(ctx context.Context, req *mfainternalv1.StartTotpEnrollmentRequest) (*mfainternalv1.StartTotpEnrollmentResponse, error) {
	k, err := h.use.StartTotpEnrollment(ctx, req.GetTenantId(), req.GetAccountId())
	if err != nil {
		return nil, err
	}
	return &mfainternalv1.StartTotpEnrollmentResponse{Secret: k.Secret, OtpauthUri: k.URI, QrPng: k.QRPNG}, nil
}

func (h *mfaInternalService) FinishTotpEnrollment(ctx context.Context, req *mfainternalv1.FinishTotpEnrollmentRequest) (*mfainternalv1.FinishTotpEnrollmentResponse, error) {
	codes, err := h.use.FinishTotpEnrollment(ctx, req.GetTenantId(), req.GetAccountId(), req.GetCode())
	if err != nil {
		return nil, err
	}
	return &mfainternalv1.FinishTotpEnrollmentResponse{RecoveryCodes: codes}, nil
}
