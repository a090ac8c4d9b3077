package peers

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/latchkey/latchkey/libs/errs"
	recoveryinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/recovery/v1"
)

// Recovery is the recovery service. Until it is built it answers
// Unimplemented, which means no account has set its recovery information.
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
	if status.Code(err) == codes.Unimplemented {
		return false, nil
	}
	if err != nil {
		return false, errs.FromStatus(err)
	}
	return resp.GetRecoveryInfoSet(), nil
}
