package grpcapi

import (
	"context"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/latchkey/latchkey/libs/authn"
	credentialv1 "github.com/latchkey/latchkey/proto/gen/latchkey/credential/v1"
	"github.com/latchkey/latchkey/services/credential/internal/app"
)

type self struct {
	credentialv1.UnimplementedCredentialServiceServer
	app *app.App
}

func (h *self) ChangePassword(ctx context.Context, req *credentialv1.ChangePasswordRequest) (*credentialv1.ChangePasswordResponse, error) {
	if err := h.app.ChangePassword(ctx, authn.FromContext(ctx), req.GetCurrentPassword(), req.GetNewPassword(), client(ctx)); err != nil {
		return nil, err
	}
	return &credentialv1.ChangePasswordResponse{}, nil
}

func (h *self) ListSessions(ctx context.Context, _ *credentialv1.ListSessionsRequest) (*credentialv1.ListSessionsResponse, error) {
	p := authn.FromContext(ctx)
	list, err := h.app.ListSessions(ctx, p)
	if err != nil {
		return nil, err
	}
	resp := &credentialv1.ListSessionsResponse{}
	for _, s := range list {
		resp.Sessions = append(resp.Sessions, &credentialv1.Session{
			Id: s.ID, DeviceName: s.DeviceName, Ip: s.IP, UserAgent: s.UserAgent, Amr: s.AMR,
			CreateTime: timestamppb.New(s.CreatedAt), LastUseTime: timestamppb.New(s.LastUsedAt), Current: s.ID == p.SessionID,
			PinEnabled: s.PINKey,
		})
	}
	return resp, nil
}

func (h *self) RevokeSession(ctx context.Context, req *credentialv1.RevokeSessionRequest) (*credentialv1.RevokeSessionResponse, error) {
	if err := h.app.RevokeSession(ctx, authn.FromContext(ctx), req.GetId()); err != nil {
		return nil, err
	}
	return &credentialv1.RevokeSessionResponse{}, nil
}

func (h *self) SetPin(ctx context.Context, req *credentialv1.SetPinRequest) (*credentialv1.SetPinResponse, error) {
	if err := h.app.SetPIN(ctx, authn.FromContext(ctx), req.GetCurrentPin(), req.GetCurrentPassword(), req.GetNewPin(), client(ctx)); err != nil {
		return nil, err
	}
	return &credentialv1.SetPinResponse{}, nil
}
