package grpcapi

import (
	"context"

	"google.golang.org/protobuf/types/known/timestamppb"

	credentialv1 "github.com/latchkey/latchkey/proto/gen/latchkey/credential/v1"
	"github.com/latchkey/latchkey/services/credential/internal/app"
	"github.com/latchkey/latchkey/services/credential/internal/password"
)

// internal serves the other Latchkey services; the edge never routes here.
type internal struct {
	credentialv1.UnimplementedCredentialInternalServiceServer
	app *app.App
}

func (h *internal) SetTemporaryPassword(ctx context.Context, req *credentialv1.SetTemporaryPasswordRequest) (*credentialv1.SetTemporaryPasswordResponse, error) {
	cmd := app.SetTemporaryRequest{
		TenantID: req.GetTenantId(), AccountID: req.GetAccountId(), Password: req.GetPassword(),
		Personal: password.Personal{Username: req.GetUsername(), Email: req.GetEmail(), DisplayName: req.GetDisplayName()},
	}
	if r := req.GetRules(); r != nil {
		cmd.Rules = &password.Rules{MinLength: int(r.GetMinLength()), MinUppercase: int(r.GetMinUppercase()),
			MinLowercase: int(r.GetMinLowercase()), MinDigits: int(r.GetMinDigits()), MinSymbols: int(r.GetMinSymbols()),
			CheckBreached: r.GetCheckBreached()}
	}
	if err := h.app.SetTemporaryPassword(ctx, cmd); err != nil {
		return nil, err
	}
	return &credentialv1.SetTemporaryPasswordResponse{}, nil
}

func (h *internal) VerifyPassword(ctx context.Context, req *credentialv1.VerifyPasswordRequest) (*credentialv1.VerifyPasswordResponse, error) {
	ok, err := h.app.VerifyPassword(ctx, req.GetTenantId(), req.GetAccountId(), req.GetPassword())
	if err != nil {
		return nil, err
	}
	return &credentialv1.VerifyPasswordResponse{Ok: ok}, nil
}

func (h *internal) SetPasswordAfterReset(ctx context.Context, req *credentialv1.SetPasswordAfterResetRequest) (*credentialv1.SetPasswordAfterResetResponse, error) {
	if err := h.app.SetPasswordAfterReset(ctx, req.GetTenantId(), req.GetAccountId(), req.GetNewPassword(), false); err != nil {
		return nil, err
	}
	return &credentialv1.SetPasswordAfterResetResponse{}, nil
}

func (h *internal) SetInitialPassword(ctx context.Context, req *credentialv1.SetInitialPasswordRequest) (*credentialv1.SetInitialPasswordResponse, error) {
	if err := h.app.SetPasswordAfterReset(ctx, req.GetTenantId(), req.GetAccountId(), req.GetPassword(), true); err != nil {
		return nil, err
	}
	return &credentialv1.SetInitialPasswordResponse{}, nil
}

func (h *internal) RevokeAllSessions(ctx context.Context, req *credentialv1.RevokeAllSessionsRequest) (*credentialv1.RevokeAllSessionsResponse, error) {
	if _, err := h.app.RevokeAllSessions(ctx, req.GetTenantId(), req.GetAccountId(), req.GetReason()); err != nil {
		return nil, err
	}
	return &credentialv1.RevokeAllSessionsResponse{}, nil
}

func (h *internal) RecordFailedAttempt(ctx context.Context, req *credentialv1.RecordFailedAttemptRequest) (*credentialv1.RecordFailedAttemptResponse, error) {
	n, locked, err := h.app.RecordFailedAttempt(ctx, req.GetTenantId(), req.GetAccountId(), req.GetReason())
	if err != nil {
		return nil, err
	}
	return &credentialv1.RecordFailedAttemptResponse{FailedCount: int32(n), Locked: locked}, nil
}

func (h *internal) ClearFailedAttempts(ctx context.Context, req *credentialv1.ClearFailedAttemptsRequest) (*credentialv1.ClearFailedAttemptsResponse, error) {
	if err := h.app.ClearFailedAttempts(ctx, req.GetTenantId(), req.GetAccountId()); err != nil {
		return nil, err
	}
	return &credentialv1.ClearFailedAttemptsResponse{}, nil
}

func (h *internal) GetPasswordStatus(ctx context.Context, req *credentialv1.GetPasswordStatusRequest) (*credentialv1.GetPasswordStatusResponse, error) {
	st, err := h.app.GetPasswordStatus(ctx, req.GetTenantId(), req.GetAccountId())
	if err != nil {
		return nil, err
	}
	resp := &credentialv1.GetPasswordStatusResponse{PasswordSet: st.Set, Temporary: st.Temporary, ExpiresSoon: st.ExpiresSoon,
		PinSet: st.PINSet, FailedCount: int32(st.FailedCount)}
	if st.ChangedAt != nil {
		resp.ChangeTime = timestamppb.New(*st.ChangedAt)
	}
	if st.ExpiresAt != nil {
		resp.ExpireTime = timestamppb.New(*st.ExpiresAt)
	}
	return resp, nil
}
