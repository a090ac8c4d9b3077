package peers

import (
	"context"

	"github.com/latchkey/latchkey/libs/errs"
	mfainternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/mfa/v1"
)

// ReasonMFAUnavailable is the reason of the Unavailable error GET /v1/me
// gets when the mfa service cannot answer.
const ReasonMFAUnavailable = "MFA_UNAVAILABLE"

// MFA calls the internal API of the mfa service, which keeps the second
// factors. It fails closed: any failure to answer is Unavailable, never
// "no factor".
type MFA struct {
	c mfainternalv1.MfaInternalServiceClient
}

// NewMFA returns a client over c.
func NewMFA(c mfainternalv1.MfaInternalServiceClient) *MFA { return &MFA{c: c} }

// FactorStatus says whether the account has TOTP on, or a key e-mailed on
// request waiting for its first code.
func (m *MFA) FactorStatus(ctx context.Context, tenantID, accountID string) (totpEnabled, emailedKeyPending bool, err error) {
	resp, err := m.c.GetFactorStatus(ctx, &mfainternalv1.GetFactorStatusRequest{TenantId: tenantID, AccountId: accountID})
	if err != nil {
		return false, false, errs.Unavailable(ReasonMFAUnavailable, "the two-step verification status cannot be read right now: try again shortly", err)
	}
	return resp.GetTotpEnabled(), resp.GetEmailedKeyPending(), nil
}
