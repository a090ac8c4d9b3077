package grpcapi

import (
	"context"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/idempotency"
	credentialv1 "github.com/latchkey/latchkey/proto/gen/latchkey/credential/v1"
	"github.com/latchkey/latchkey/services/credential/internal/app"
	"github.com/latchkey/latchkey/services/credential/internal/credential"
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

func (h *admin) ImportAccounts(ctx context.Context, req *credentialv1.ImportAccountsRequest) (*credentialv1.ImportAccountsResponse, error) {
	rows := make([]credential.ImportRow, len(req.GetAccounts()))
	for i, r := range req.GetAccounts() {
		rows[i] = credential.ImportRow{Username: r.GetUsername(), Email: r.GetEmail(), DisplayName: r.GetDisplayName(),
			Roles: r.GetRoles(), LegacyPasswordHash: r.GetLegacyPasswordHash()}
	}
	// The whole request is fingerprinted, the legacy hashes too: a retry
	// with another hash is another request. Unlike a temporary password
	// (left out of CreateAccount's), a salted hash in a SHA-256 of the
	// request gives nobody anything to guess.
	idem, err := idempotency.FromCall(ctx, req)
	if err != nil {
		return nil, err
	}
	outcomes, created, err := h.app.ImportAccounts(ctx, authn.FromContext(ctx), rows, idem)
	if err != nil {
		return nil, err
	}
	resp := &credentialv1.ImportAccountsResponse{}
	for i, o := range outcomes {
		res := &credentialv1.ImportResult{Index: int32(i), Username: rows[i].Username, ErrorCode: o.ErrorCode, ErrorMessage: o.ErrorMessage}
		if o.ErrorCode != "" {
			resp.FailedCount++
		} else if created {
			res.AccountId = o.AccountID
			resp.ImportedCount++
		}
		resp.Results = append(resp.Results, res)
	}
	return resp, nil
}
