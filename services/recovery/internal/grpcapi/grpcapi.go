// Package grpcapi is the recovery service's gRPC surface: thin handlers
// that decode a request, call one use case and encode its answer. Errors
// are libs/errs kinds, turned into statuses by the server's interceptor.
package grpcapi

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/latchkey/latchkey/libs/authn"
	recoveryinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/recovery/v1"
	recoveryv1 "github.com/latchkey/latchkey/proto/gen/latchkey/recovery/v1"
	"github.com/latchkey/latchkey/services/recovery/internal/app"
	"github.com/latchkey/latchkey/services/recovery/internal/convert"
)

// RegisterPublic adds the public services, the gateway's backends.
func RegisterPublic(s grpc.ServiceRegistrar, use *app.App) {
	recoveryv1.RegisterRecoveryServiceServer(s, &recoveryService{app: use})
	recoveryv1.RegisterRecoveryAdminServiceServer(s, &recoveryAdminService{app: use})
}

// RegisterInternal adds the internal service, for the other services.
func RegisterInternal(s grpc.ServiceRegistrar, use *app.App) {
	recoveryinternalv1.RegisterRecoveryInternalServiceServer(s, &recoveryInternalService{app: use})
}

type recoveryService struct {
	recoveryv1.UnimplementedRecoveryServiceServer
	app *app.App
}

func (h *recoveryService) CompleteActivation(ctx context.Context, req *recoveryv1.CompleteActivationRequest) (*recoveryv1.CompleteActivationResponse, error) {
	code, username, err := h.app.CompleteActivation(ctx, req.GetToken(), req.GetNewPassword())
	if err != nil {
		return nil, err
	}
	return &recoveryv1.CompleteActivationResponse{TenantCode: code, Username: username}, nil
}

func (h *recoveryService) RequestPasswordReset(ctx context.Context, req *recoveryv1.RequestPasswordResetRequest) (*recoveryv1.RequestPasswordResetResponse, error) {
	if err := h.app.RequestPasswordReset(ctx, req.GetTenant(), req.GetLogin()); err != nil {
		return nil, err
	}
	return &recoveryv1.RequestPasswordResetResponse{}, nil
}

func (h *recoveryService) InspectPasswordReset(ctx context.Context, req *recoveryv1.InspectPasswordResetRequest) (*recoveryv1.InspectPasswordResetResponse, error) {
	in, err := h.app.InspectPasswordReset(ctx, req.GetToken())
	if err != nil {
		return nil, err
	}
	return &recoveryv1.InspectPasswordResetResponse{
		Requires: convert.RequirementsToProto(in.Requires), Questions: in.Questions,
		PasswordRules: convert.RulesToProto(in.Rules), ExpireTime: timestamppb.New(in.ExpiresAt),
		Username: in.Username,
	}, nil
}

func (h *recoveryService) VerifyPasswordReset(ctx context.Context, req *recoveryv1.VerifyPasswordResetRequest) (*recoveryv1.VerifyPasswordResetResponse, error) {
	ticket, exp, err := h.app.VerifyPasswordReset(ctx, req.GetToken(), req.TotpCode, convert.AnswersFromProto(req.GetAnswers()))
	if err != nil {
		return nil, err
	}
	return &recoveryv1.VerifyPasswordResetResponse{ResetTicket: ticket, ExpireTime: timestamppb.New(exp)}, nil
}

func (h *recoveryService) CompletePasswordReset(ctx context.Context, req *recoveryv1.CompletePasswordResetRequest) (*recoveryv1.CompletePasswordResetResponse, error) {
	code, err := h.app.CompletePasswordReset(ctx, req.GetToken(), req.GetResetTicket(), req.GetNewPassword())
	if err != nil {
		return nil, err
	}
	return &recoveryv1.CompletePasswordResetResponse{TenantCode: code}, nil
}

func (h *recoveryService) GetRecoveryStatus(ctx context.Context, _ *recoveryv1.GetRecoveryStatusRequest) (*recoveryv1.GetRecoveryStatusResponse, error) {
	s, err := h.app.GetRecoveryStatus(ctx, authn.FromContext(ctx))
	if err != nil {
		return nil, err
	}
	return &recoveryv1.GetRecoveryStatusResponse{SecurityQuestionsSet: s.QuestionsSet, EmailVerified: s.EmailVerified,
		Questions: s.Questions, SecurityQuestionsRequired: int32(s.Required)}, nil
}

func (h *recoveryService) SetSecurityQuestions(ctx context.Context, req *recoveryv1.SetSecurityQuestionsRequest) (*recoveryv1.SetSecurityQuestionsResponse, error) {
	if err := h.app.SetSecurityQuestions(ctx, authn.FromContext(ctx), convert.AnswersFromProto(req.GetQuestions())); err != nil {
		return nil, err
	}
	return &recoveryv1.SetSecurityQuestionsResponse{}, nil
}

type recoveryAdminService struct {
	recoveryv1.UnimplementedRecoveryAdminServiceServer
	app *app.App
}

func (h *recoveryAdminService) SendPasswordReset(ctx context.Context, req *recoveryv1.SendPasswordResetRequest) (*recoveryv1.SendPasswordResetResponse, error) {
	if err := h.app.SendPasswordReset(ctx, authn.FromContext(ctx), req.GetId()); err != nil {
		return nil, err
	}
	return &recoveryv1.SendPasswordResetResponse{}, nil
}

func (h *recoveryAdminService) ResendActivation(ctx context.Context, req *recoveryv1.ResendActivationRequest) (*recoveryv1.ResendActivationResponse, error) {
	if err := h.app.ResendActivation(ctx, authn.FromContext(ctx), req.GetId()); err != nil {
		return nil, err
	}
	return &recoveryv1.ResendActivationResponse{}, nil
}

type recoveryInternalService struct {
	recoveryinternalv1.UnimplementedRecoveryInternalServiceServer
	app *app.App
}

func (h *recoveryInternalService) IssueActivation(ctx context.Context, req *recoveryinternalv1.IssueActivationRequest) (*recoveryinternalv1.IssueActivationResponse, error) {
	exp, err := h.app.IssueActivation(ctx, req.GetTenantId(), req.GetAccountId(), req.GetRequestId())
	if err != nil {
		return nil, err
	}
	return &recoveryinternalv1.IssueActivationResponse{ExpireTime: timestamppb.New(exp)}, nil
}

func (h *recoveryInternalService) IssuePasswordReset(ctx context.Context, req *recoveryinternalv1.IssuePasswordResetRequest) (*recoveryinternalv1.IssuePasswordResetResponse, error) {
	exp, err := h.app.IssuePasswordReset(ctx, req.GetTenantId(), req.GetAccountId(), req.GetRequestId())
	if err != nil {
		return nil, err
	}
	return &recoveryinternalv1.IssuePasswordResetResponse{ExpireTime: timestamppb.New(exp)}, nil
}

func (h *recoveryInternalService) RevokeLinkTokens(ctx context.Context, req *recoveryinternalv1.RevokeLinkTokensRequest) (*recoveryinternalv1.RevokeLinkTokensResponse, error) {
	n, err := h.app.RevokeLinkTokens(ctx, req.GetTenantId(), req.GetAccountId())
	if err != nil {
		return nil, err
	}
	return &recoveryinternalv1.RevokeLinkTokensResponse{RevokedCount: int32(n)}, nil
}

func (h *recoveryInternalService) GetRecoveryInfo(ctx context.Context, req *recoveryinternalv1.GetRecoveryInfoRequest) (*recoveryinternalv1.GetRecoveryInfoResponse, error) {
	s, err := h.app.GetRecoveryInfo(ctx, req.GetTenantId(), req.GetAccountId())
	if err != nil {
		return nil, err
	}
	return &recoveryinternalv1.GetRecoveryInfoResponse{SecurityQuestionsSet: s.QuestionsSet, EmailVerified: s.EmailVerified,
		RecoveryInfoSet: s.InfoSet}, nil
}
