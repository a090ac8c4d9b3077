package peers

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/latchkey/latchkey/libs/errs"
	mfainternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/mfa/v1"
	"github.com/latchkey/latchkey/services/recovery/internal/app"
)

// MFA is the mfa service. It fails closed: an mfa service that cannot be
// reached, or does not implement the call, is an Unavailable error, never
// "no factor", so a reset never goes past a second factor unasked.
type MFA struct {
	c mfainternalv1.MfaInternalServiceClient
}

var _ app.Factors = (*MFA)(nil)

// NewMFA returns the mfa service's client.
func NewMFA(c mfainternalv1.MfaInternalServiceClient) *MFA { return &MFA{c: c} }

// NeedsCode implements app.Factors.
func (m *MFA) NeedsCode(ctx context.Context, tenantID, accountID string) (bool, error) {
	resp, err := m.c.GetFactorStatus(ctx, &mfainternalv1.GetFactorStatusRequest{TenantId: tenantID, AccountId: accountID})
	if err != nil {
		return false, failClosed(err)
	}
	return resp.GetTotpEnabled() || resp.GetEmailedKeyPending(), nil
}

// Verify implements app.Factors (a recovery code is accepted too).
func (m *MFA) Verify(ctx context.Context, tenantID, accountID, code string) (bool, error) {
	resp, err := m.c.VerifyCode(ctx, &mfainternalv1.VerifyCodeRequest{TenantId: tenantID, AccountId: accountID, Code: code, AllowRecoveryCode: true})
	if err != nil {
		return false, failClosed(err)
	}
	return resp.GetOk(), nil
}

func failClosed(err error) error {
	if status.Code(err) == codes.Unimplemented {
		return errs.Unavailable("MFA_UNAVAILABLE", "two-step verification cannot be checked now; try again later", err)
	}
	return errs.FromStatus(err)
}
