package grpcapi

import (
	"context"

	credentialinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/credential/v1"
	"github.com/latchkey/latchkey/services/credential/internal/app"
	"github.com/latchkey/latchkey/services/credential/internal/password"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// internal serves the other Latchkey services; the edge never routes here.
type internal struct {
	credentialinternalv1.UnimplementedCredentialInternalServiceServer
	app *app.App
}

func (h *internal) SetTemporaryPassword(ctx context.Context, req *credentialinternalv1.SetTemporaryPasswordRequest) (*credentialinternalv1.SetTemporaryPasswordResponse, error) {
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
	return &credentialinternalv1.SetTemporaryPasswordResponse{}, nil
}

func (h *internal) VerifyPassword(ctx context.Context, req *credentialinternalv1.VerifyPasswordRequest) (*credentialinternalv1.VerifyPasswordResponse, error) {
	ok, err := h.app.VerifyPassword(ctx, req.GetTenantId(), req.GetAccountId(), req.GetPassword())
	if err != nil {
		return nil, err
	}
	return &credentialinternalv1.VerifyPasswordResponse{Ok: ok}, nil
}

func (h *internal) SetPasswordAfterReset(ctx context.Context, req *credentialinternalv1.SetPasswordAfterResetRequest) (*credentialinternalv1.SetPasswordAfterResetResponse, error) {
	if err := h.app.SetPasswordAfterReset(ctx, req.GetTenantId(), req.GetAccountId(), req.GetNewPassword(), false); err != nil {
		return nil, err
	}
	return &credentialinternalv1.SetPasswordAfterResetResponse{}, nil
}

func (h *internal) SetInitialPassword(ctx context.Context, req *credentialinternalv1.SetInitialPasswordRequest) (*credentialinternalv1.SetInitialPasswordResponse, error) {
	if err := h.app.SetPasswordAfterReset(ctx, req.GetTenantId(), req.GetAccountId(), req.GetPassword(), true); err != nil {
		return nil, err
	}
	return &credentialinternalv1.SetInitialPasswordResponse{}, nil
}

func (h *internal) RevokeAllSessions(ctx context.Context, req *credentialinternalv1.RevokeAllSessionsRequest) (*credentialinternalv1.RevokeAllSessionsResponse, error) {
	if _, err := h.app.RevokeAllSessions(ctx, req.GetTenantId(), req.GetAccountId(), req.GetReason()); err != nil {
		return nil, err
	}
	return &credentialinternalv1.RevokeAllSessionsResponse{}, nil
}

func (h *internal) CheckSession(ctx context.Context, req *credentialinternalv1.CheckSessionRequest) (*credentialinternalv1.CheckSessionResponse, error) {
	live, err := h.app.SessionLive(ctx, req.GetTenantId(), req.GetSessionId())
	if err != nil {
		return nil, err
	}
	return &credentialinternalv1.CheckSessionResponse{Live: live}, nil
}

func (h *internal) RecordFailedAttempt(ctx context.Context, req *credentialinternalv1.RecordFailedAttemptRequest) (*credentialinternalv1.RecordFailedAttemptResponse, error) {
	n, locked, err := h.app.RecordFailedAttempt(ctx, req.GetTenantId(), req.GetAccountId(), req.GetReason())
	if err != nil {
		return nil, err
	}
	return &credentialinternalv1.RecordFailedAttemptResponse{FailedCount: int32(n), Locked: locked}, nil
}

func (h *internal) ClearFailedAttempts(ctx context.Context, req *credentialinternalv1.ClearFailedAttemptsRequest) (*credentialinternalv1.ClearFailedAttemptsResponse, error) {
	if err := h.app.ClearFailedAttempts(ctx, req.GetTenantId(), req.GetAccountId()); err != nil {
		return nil, err
	}
	return &credentialinternalv1.ClearFailedAttemptsResponse{}, nil
}

func (h *internal) GetPasswordStatus(ctx context.Context, req *credentialinternalv1.GetPasswordStatusRequest) (*credentialinternalv1.GetPasswordStatusResponse, error) {
	st, err := h.app.GetPasswordStatus(ctx, req.GetTenantId(), req.GetAccountId())
	if err != nil {
		return nil, err
	}
	resp := &credentialinternalv1.GetPasswordStatusResponse{PasswordSet: st.Set, Temporary: st.Temporary, ExpiresSoon: st.ExpiresSoon,
		PinSet: st.PINSet, FailedCount: int32(st.FailedCount)}
	if st.ChangedAt != nil {
		resp.ChangeTime = timestamppb.New(*st.ChangedAt)
	}
	if st.ExpiresAt != nil {
		resp.ExpireTime = timestamppb.New(*st.ExpiresAt)
	}
	return resp, nil
}
