package peers_test

import (
	"context"
	"errors"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/latchkey/latchkey/libs/errs"
	mfainternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/mfa/v1"
	recoveryinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/recovery/v1"
	"github.com/latchkey/latchkey/services/account/internal/peers"
)

type mfaAnswering struct {
	mfainternalv1.MfaInternalServiceClient
	resp *mfainternalv1.GetFactorStatusResponse
	err  error
}

func (m mfaAnswering) GetFactorStatus(context.Context, *mfainternalv1.GetFactorStatusRequest, ...grpc.CallOption) (*mfainternalv1.GetFactorStatusResponse, error) {
	return m.resp, m.err
}

type recoveryAnswering struct {
	recoveryinternalv1.RecoveryInternalServiceClient
	resp *recoveryinternalv1.GetRecoveryInfoResponse
	err  error
}

func (r recoveryAnswering) GetRecoveryInfo(context.Context, *recoveryinternalv1.GetRecoveryInfoRequest, ...grpc.CallOption) (*recoveryinternalv1.GetRecoveryInfoResponse, error) {
	return r.resp, r.err
}

// The peers of GET /v1/me fail closed: a service down, not built or
// failing is Unavailable, never "no factor" or "nothing set".
func TestPeers_FailClosed(t *testing.T) {
	ctx := context.Background()
	for _, err := range []error{status.Error(codes.Unimplemented, "not built"), status.Error(codes.Unavailable, "down"),
		status.Error(codes.Internal, "boom"), context.DeadlineExceeded} {
		_, _, got := peers.NewMFA(mfaAnswering{err: err}).FactorStatus(ctx, "t", "a")
		var e *errs.Error
		if !errors.As(got, &e) || e.Kind != errs.KindUnavailable || e.Reason != peers.ReasonMFAUnavailable {
			t.Errorf("FactorStatus, %v: %v, want Unavailable %s", err, got, peers.ReasonMFAUnavailable)
		}
		_, got = peers.NewRecovery(recoveryAnswering{err: err}).RecoveryInfoSet(ctx, "t", "a")
		if !errors.As(got, &e) || e.Kind != errs.KindUnavailable || e.Reason != peers.ReasonRecoveryUnavailable {
			t.Errorf("RecoveryInfoSet, %v: %v, want Unavailable %s", err, got, peers.ReasonRecoveryUnavailable)
		}
	}
	on, pending, err := peers.NewMFA(mfaAnswering{resp: &mfainternalv1.GetFactorStatusResponse{TotpEnabled: true}}).FactorStatus(ctx, "t", "a")
	if !on || pending || err != nil {
		t.Errorf("FactorStatus with TOTP on: %v %v %v", on, pending, err)
	}
	set, err := peers.NewRecovery(recoveryAnswering{resp: &recoveryinternalv1.GetRecoveryInfoResponse{RecoveryInfoSet: true}}).RecoveryInfoSet(ctx, "t", "a")
	if !set || err != nil {
		t.Errorf("RecoveryInfoSet: %v %v", set, err)
	}
}
