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
	"github.com/latchkey/latchkey/services/credential/internal/peers"
)

// mfaAnswering answers every call with err.
type mfaAnswering struct {
	mfainternalv1.MfaInternalServiceClient
	err error
}

func (m mfaAnswering) GetFactorStatus(context.Context, *mfainternalv1.GetFactorStatusRequest, ...grpc.CallOption) (*mfainternalv1.GetFactorStatusResponse, error) {
	return nil, m.err
}

func (m mfaAnswering) VerifyCode(context.Context, *mfainternalv1.VerifyCodeRequest, ...grpc.CallOption) (*mfainternalv1.VerifyCodeResponse, error) {
	return nil, m.err
}

func (m mfaAnswering) StartTotpEnrollment(context.Context, *mfainternalv1.StartTotpEnrollmentRequest, ...grpc.CallOption) (*mfainternalv1.StartTotpEnrollmentResponse, error) {
	return nil, m.err
}

func (m mfaAnswering) FinishTotpEnrollment(context.Context, *mfainternalv1.FinishTotpEnrollmentRequest, ...grpc.CallOption) (*mfainternalv1.FinishTotpEnrollmentResponse, error) {
	return nil, m.err
}

type recoveryAnswering struct {
	recoveryinternalv1.RecoveryInternalServiceClient
	err error
}

func (r recoveryAnswering) GetRecoveryInfo(context.Context, *recoveryinternalv1.GetRecoveryInfoRequest, ...grpc.CallOption) (*recoveryinternalv1.GetRecoveryInfoResponse, error) {
	return nil, r.err
}

func wantUnavailable(t *testing.T, what string, err error, reason string) {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind != errs.KindUnavailable || e.Reason != reason {
		t.Errorf("%s: %v, want Unavailable %s", what, err, reason)
	}
}

// The peers fail closed: an mfa or recovery service that is down, not
// built or failing is Unavailable, never "no factor" or "no recovery
// information".
func TestPeers_FailClosed(t *testing.T) {
	ctx := context.Background()
	for _, err := range []error{
		status.Error(codes.Unimplemented, "not built"),
		status.Error(codes.Unavailable, "connection refused"),
		status.Error(codes.Internal, "boom"),
		status.Error(codes.PermissionDenied, "caller not admitted"),
		context.DeadlineExceeded,
	} {
		m := peers.NewMFA(mfaAnswering{err: err})
		_, got := m.Status(ctx, "t", "a")
		wantUnavailable(t, "Status, "+err.Error(), got, peers.ReasonMFAUnavailable)
		_, got = m.Verify(ctx, "t", "a", "123456", false)
		wantUnavailable(t, "Verify, "+err.Error(), got, peers.ReasonMFAUnavailable)
		_, got = m.StartEnrollment(ctx, "t", "a")
		wantUnavailable(t, "StartEnrollment, "+err.Error(), got, peers.ReasonMFAUnavailable)
		_, _, got = m.FinishEnrollment(ctx, "t", "a", "123456")
		wantUnavailable(t, "FinishEnrollment, "+err.Error(), got, peers.ReasonMFAUnavailable)
		_, got = peers.NewRecovery(recoveryAnswering{err: err}).InfoSet(ctx, "t", "a")
		wantUnavailable(t, "InfoSet, "+err.Error(), got, peers.ReasonRecoveryUnavailable)
	}
}

// A code mfa refuses for what it is (malformed, wrong) is a wrong code,
// counted as such by the log-in, not an outage.
func TestPeers_RefusedCodeIsWrongCode(t *testing.T) {
	ctx := context.Background()
	for _, c := range []codes.Code{codes.InvalidArgument, codes.Unauthenticated} {
		m := peers.NewMFA(mfaAnswering{err: status.Error(c, "bad code")})
		if ok, err := m.Verify(ctx, "t", "a", "12", false); ok || err != nil {
			t.Errorf("Verify, %v: %v %v, want a wrong code", c, ok, err)
		}
		if _, ok, err := m.FinishEnrollment(ctx, "t", "a", "12"); ok || err != nil {
			t.Errorf("FinishEnrollment, %v: %v %v, want a wrong code", c, ok, err)
		}
	}
	m := peers.NewMFA(mfaAnswering{err: errs.FailedPrecondition("TOTP_ENROLLMENT_NOT_FOUND", "no enrolment").GRPCStatus().Err()})
	if _, _, err := m.FinishEnrollment(ctx, "t", "a", "123456"); !errs.Is(err, errs.KindInvalid) {
		t.Errorf("FinishEnrollment without a started enrolment: %v, want InvalidArgument (startTotpEnrollment)", err)
	}
	// The enrolment ended by too many wrong codes: this one was wrong too,
	// and counts.
	m = peers.NewMFA(mfaAnswering{err: errs.FailedPrecondition("TOTP_ENROLLMENT_ENDED", "ended").GRPCStatus().Err()})
	if _, ok, err := m.FinishEnrollment(ctx, "t", "a", "123456"); ok || err != nil {
		t.Errorf("FinishEnrollment of an ended enrolment: %v %v, want a wrong code", ok, err)
	}
	// A precondition the client can act on passes through.
	m = peers.NewMFA(mfaAnswering{err: errs.FailedPrecondition("TOTP_ALREADY_ENABLED", "on").GRPCStatus().Err()})
	if _, err := m.StartEnrollment(ctx, "t", "a"); !errs.Is(err, errs.KindFailedPrecondition) {
		t.Errorf("StartEnrollment with TOTP on: %v, want FailedPrecondition", err)
	}
}
