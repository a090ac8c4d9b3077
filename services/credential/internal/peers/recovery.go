package peers

import (
	"context"

	"github.com/latchkey/latchkey/libs/errs"
	recoveryinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/recovery/v1"
)

// ReasonRecoveryUnavailable is the reason of the Unavailable error a
// log-in gets when the recovery service cannot answer.
const ReasonRecoveryUnavailable = "RECOVERY_UNAVAILABLE"

// Recovery is the recovery service. Any failure to answer is an
// Unavailable error, never "no recovery information".
type Recovery struct {
	c recoveryinternalv1.RecoveryInternalServiceClient
}

// NewRecovery returns the recovery service's client.
func NewRecovery(c recoveryinternalv1.RecoveryInternalServiceClient) *Recovery {
	return &Recovery{c: c}
}

// InfoSet reports whether the account's recovery information is complete.
func (r *Recovery) InfoSet(ctx context.Context, tenantID, accountID string) (bool, error) {
	resp, err := r.c.GetRecoveryInfo(ctx, &recoveryinternalv1.GetRecoveryInfoRequest{TenantId: tenantID, AccountId: accountID})
	if err != nil {
		return false, errs.Unavailable(ReasonRecoveryUnavailable, "the recovery information cannot be checked right now: try again shortly", err)
	}
	return resp.GetRecoveryInfoSet(), nil
}
