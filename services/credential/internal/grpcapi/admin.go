package grpcapi

import (
	"context"

	"github.com/latchkey/latchkey/libs/authn"
	credentialv1 "github.com/latchkey/latchkey/proto/gen/latchkey/credential/v1"
	"github.com/latchkey/latchkey/services/credential/internal/app"
)

type admin struct {
	credentialv1.UnimplementedCredentialAdminServiceServer
	app *app.App
}

func (h *admin) SetPassword(ctx context.Context, req *credentialv1.SetPasswordRequest) (*credentialv1.SetPasswordResponse, error) {
	if err := h.app.AdminSetPassword(ctx, authn.FromContext(ctx), req.GetId(), req.GetPassword(), req.GetTemporary()); err != nil {
		return nil, err
	}
	return &credentialv1.SetPasswordResponse{}, nil
}
