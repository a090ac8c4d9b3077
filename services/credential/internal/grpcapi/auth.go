package grpcapi

import (
	"context"

	"github.com/latchkey/latchkey/libs/authn"
	credentialv1 "github.com/latchkey/latchkey/proto/gen/latchkey/credential/v1"
	"github.com/latchkey/latchkey/services/credential/internal/app"
	"github.com/latchkey/latchkey/services/credential/internal/token"
)

type auth struct {
	credentialv1.UnimplementedAuthServiceServer
	app    *app.App
	issuer *token.Issuer
}

// loginAnswer is the fields Login and ContinueLogin answer with.
type loginAnswer struct {
	access, refresh, session, ticket, deviceKey string
	expiresIn                                   int32
	step                                        credentialv1.LoginStep_Value
	prompts                                     []credentialv1.Prompt_Value
	rules                                       *credentialv1.PasswordRules
}

func answer(r *app.LoginResult) loginAnswer {
	var a loginAnswer
	for _, p := range r.Prompts {
		a.prompts = append(a.prompts, credentialv1.Prompt_Value(credentialv1.Prompt_Value_value[string(p)]))
	}
	if r.Tokens != nil {
		a.access, a.refresh, a.session, a.expiresIn = r.Tokens.AccessToken, r.Tokens.RefreshToken, r.Tokens.SessionID, seconds(r.Tokens.ExpiresIn)
		a.deviceKey = r.Tokens.DeviceKey
		return a
	}
	a.step = credentialv1.LoginStep_Value(credentialv1.LoginStep_Value_value[string(r.NextStep)])
	a.ticket = r.Ticket
	if p := r.Policy; p != nil {
		a.rules = &credentialv1.PasswordRules{
			MinLength: int32(p.Rules.MinLength), MinUppercase: int32(p.Rules.MinUppercase), MinLowercase: int32(p.Rules.MinLowercase),
			MinDigits: int32(p.Rules.MinDigits), MinSymbols: int32(p.Rules.MinSymbols), CheckBreached: p.Rules.CheckBreached,
			HistoryCount: int32(p.HistoryCount),
		}
	}
	return a
}

func tokenType(access string) string {
	if access == "" {
		return ""
	}
	return "Bearer"
}

func (h *auth) Login(ctx context.Context, req *credentialv1.LoginRequest) (*credentialv1.LoginResponse, error) {
	r, err := h.app.Login(ctx, app.LoginRequest{
		Tenant: req.GetTenant(), Username: req.GetUsername(), Password: req.GetPassword(),
		DeviceName: req.GetDeviceName(), Client: client(ctx),
	})
	if err != nil {
		return nil, err
	}
	a := answer(r)
	return &credentialv1.LoginResponse{
		AccessToken: a.access, RefreshToken: a.refresh, ExpiresIn: a.expiresIn, SessionId: a.session, TokenType: tokenType(a.access),
		NextStep: a.step, LoginTicket: a.ticket, Prompts: a.prompts, DeviceKey: a.deviceKey, PasswordRules: a.rules,
	}, nil
}

func (h *auth) LoginWithPin(ctx context.Context, req *credentialv1.LoginWithPinRequest) (*credentialv1.LoginWithPinResponse, error) {
	r, err := h.app.LoginWithPIN(ctx, app.PINLoginRequest{DeviceKey: req.GetDeviceKey(), PIN: req.GetPin(), Client: client(ctx)})
	if err != nil {
		return nil, err
	}
	a := answer(r)
	return &credentialv1.LoginWithPinResponse{AccessToken: a.access, RefreshToken: a.refresh, ExpiresIn: a.expiresIn,
		SessionId: a.session, DeviceKey: a.deviceKey, TokenType: tokenType(a.access), Prompts: a.prompts}, nil
}

func (h *auth) ContinueLogin(ctx context.Context, req *credentialv1.ContinueLoginRequest) (*credentialv1.ContinueLoginResponse, error) {
	r, err := h.app.ContinueLogin(ctx, app.ContinueRequest{
		Ticket: req.GetLoginTicket(), TOTPCode: req.GetTotpCode(), RecoveryCode: req.GetRecoveryCode(),
		NewPassword: req.GetNewPassword(), AcceptTermsVersion: req.GetAcceptTermsVersion(),
		StartTOTPEnrollment: req.GetStartTotpEnrollment(), Client: client(ctx),
	})
	if err != nil {
		return nil, err
	}
	a := answer(r)
	resp := &credentialv1.ContinueLoginResponse{
		AccessToken: a.access, RefreshToken: a.refresh, ExpiresIn: a.expiresIn, SessionId: a.session, TokenType: tokenType(a.access),
		NextStep: a.step, LoginTicket: a.ticket, Prompts: a.prompts, DeviceKey: a.deviceKey, PasswordRules: a.rules,
		RecoveryCodes: r.RecoveryCodes,
	}
	if e := r.Enrollment; e != nil {
		resp.TotpEnrollment = &credentialv1.TotpEnrollment{Secret: e.Secret, OtpauthUri: e.OtpauthURI, QrPng: e.QRPNG}
	}
	return resp, nil
}

func (h *auth) RefreshToken(ctx context.Context, req *credentialv1.RefreshTokenRequest) (*credentialv1.RefreshTokenResponse, error) {
	t, err := h.app.Refresh(ctx, req.GetRefreshToken(), client(ctx))
	if err != nil {
		return nil, err
	}
	return &credentialv1.RefreshTokenResponse{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken,
		ExpiresIn: seconds(t.ExpiresIn), SessionId: t.SessionID, TokenType: "Bearer"}, nil
}

func (h *auth) Logout(ctx context.Context, req *credentialv1.LogoutRequest) (*credentialv1.LogoutResponse, error) {
	if err := h.app.Logout(ctx, req.GetRefreshToken()); err != nil {
		return nil, err
	}
	return &credentialv1.LogoutResponse{}, nil
}

func (h *auth) Reauthenticate(ctx context.Context, req *credentialv1.ReauthenticateRequest) (*credentialv1.ReauthenticateResponse, error) {
	access, expiresIn, err := h.app.Reauthenticate(ctx, authn.FromContext(ctx), req.GetPassword(), req.GetTotpCode(), client(ctx))
	if err != nil {
		return nil, err
	}
	return &credentialv1.ReauthenticateResponse{AccessToken: access, ExpiresIn: int32(expiresIn), TokenType: "Bearer"}, nil
}

func (h *auth) GetJwks(ctx context.Context, _ *credentialv1.GetJwksRequest) (*credentialv1.GetJwksResponse, error) {
	keys, err := h.issuer.JWKS(ctx)
	if err != nil {
		return nil, err
	}
	resp := &credentialv1.GetJwksResponse{}
	for _, k := range keys {
		resp.Keys = append(resp.Keys, &credentialv1.Jwk{Kty: k.Kty, Crv: k.Crv, X: k.X, Kid: k.Kid, Use: k.Use, Alg: k.Alg})
	}
	return resp, nil
}
