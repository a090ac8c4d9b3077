package peers

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/latchkey/latchkey/libs/errs"
	mfainternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/mfa/v1"
)

// MFA is the mfa service. Until it is built it answers Unimplemented,
// which means no account has a factor.
type MFA struct {
	c mfainternalv1.MfaInternalServiceClient
}

// NewMFA returns the mfa service's client.
func NewMFA(c mfainternalv1.MfaInternalServiceClient) *MFA { return &MFA{c: c} }

// TOTPEnrolled reports whether the account has TOTP on.
func (m *MFA) TOTPEnrolled(ctx context.Context, tenantID, accountID string) (bool, error) {
	resp, err := m.c.GetFactorStatus(ctx, &mfainternalv1.GetFactorStatusRequest{TenantId: tenantID, AccountId: accountID})
	if status.Code(err) == codes.Unimplemented {
		return false, nil
	}
	if err != nil {
		return false, errs.FromStatus(err)
	}
	return resp.GetTotpEnabled(), nil
}

// Verify checks a code.
func (m *MFA) Verify(ctx context.Context, tenantID, accountID, code string, recovery bool) (bool, error) {
	resp, err := m.c.VerifyCode(ctx, &mfainternalv1.VerifyCodeRequest{TenantId: tenantID, AccountId: accountID, Code: code, AllowRecoveryCode: recovery})
	if err != nil {
		return false, errs.FromStatus(err)
	}
	return resp.GetOk(), nil
}
