package peers

import (
	"context"

	"github.com/latchkey/latchkey/libs/errs"
	recoveryinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/recovery/v1"
)

// ReasonRecoveryUnavailable is the reason of the Unavailable error GET
// /v1/me gets when the recovery service cannot answer.
const ReasonRecoveryUnavailable = "RECOVERY_UNAVAILABLE"

// Recovery calls the internal API of the recovery service, which keeps
// the recovery information. Any failure to answer is Unavailable, never
// "nothing set".
type Recovery struct {
	c recoveryinternalv1.RecoveryInternalServiceClient
}

// NewRecovery returns a client over c.
func NewRecovery(c recoveryinternalv1.RecoveryInternalServiceClient) *Recovery {
	return &Recovery{c: c}
}

// RecoveryInfoSet says whether the account's recovery information is
// complete for its tenant's policy.
func (r *Recovery) RecoveryInfoSet(ctx context.Context, tenantID, accountID string) (bool, error) {
	resp, err := r.c.GetRecoveryInfo(ctx, &recoveryinternalv1.GetRecoveryInfoRequest{TenantId: tenantID, AccountId: accountID})
	if err != nil {
		return false, errs.Unavailable(ReasonRecoveryUnavailable, "the recovery information cannot be read right now: try again shortly", err)
	}
	return resp.GetRecoveryInfoSet(), nil
}
