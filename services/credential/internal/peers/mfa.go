package peers

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/latchkey/latchkey/libs/errs"
	mfainternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/mfa/v1"
	"github.com/latchkey/latchkey/services/credential/internal/credential"
)

// ReasonMFAUnavailable is the reason of the Unavailable error a log-in or
// re-authentication gets when the mfa service cannot answer: the second
// factor cannot be checked, so nothing goes through without it.
const ReasonMFAUnavailable = "MFA_UNAVAILABLE"

// MFA is the mfa service. It fails closed: any failure to answer (down,
// unimplemented, internal error) is an Unavailable error, never "no
// factor", so that an account with TOTP on cannot sign in without its
// code while mfa is away.
type MFA struct {
	c mfainternalv1.MfaInternalServiceClient
}

// NewMFA returns the mfa service's client.
func NewMFA(c mfainternalv1.MfaInternalServiceClient) *MFA { return &MFA{c: c} }

func mfaUnavailable(err error) error {
	return errs.Unavailable(ReasonMFAUnavailable, "two-step verification cannot be checked right now: try again shortly", err)
}

// mfaErr maps a failed mfa call: a refusal the client can act on (too
// many attempts, a precondition such as TOTP already on) goes to the
// client as it is; everything else is Unavailable.
func mfaErr(err error) error {
	if e := errs.FromStatus(err); errs.Is(e, errs.KindTooManyAttempts) || errs.Is(e, errs.KindFailedPrecondition) {
		return e
	}
	return mfaUnavailable(err)
}

// The reasons of mfa's FinishTotpEnrollment refusals that the ENROLL_MFA
// log-in step tells apart.
const (
	// reasonEnrollmentNotFound: no enrolment waits (never started, or
	// replaced): the step starts again with startTotpEnrollment.
	reasonEnrollmentNotFound = "TOTP_ENROLLMENT_NOT_FOUND"
	// reasonEnrollmentEnded: too many wrong codes for this enrolment; the
	// code given was wrong too.
	reasonEnrollmentEnded = "TOTP_ENROLLMENT_ENDED"
)

func reasonOf(err error) string {
	var e *errs.Error
	if errors.As(errs.FromStatus(err), &e) {
		return e.Reason
	}
	return ""
}

// Status reports the account's second factor.
func (m *MFA) Status(ctx context.Context, tenantID, accountID string) (credential.FactorStatus, error) {
	resp, err := m.c.GetFactorStatus(ctx, &mfainternalv1.GetFactorStatusRequest{TenantId: tenantID, AccountId: accountID})
	if err != nil {
		return credential.FactorStatus{}, mfaUnavailable(err)
	}
	return credential.FactorStatus{TOTPEnabled: resp.GetTotpEnabled(), EmailedKeyPending: resp.GetEmailedKeyPending()}, nil
}

// wrongCode reports whether mfa refused a code for what it is (malformed
// or wrong) rather than failing to check it.
func wrongCode(err error) bool {
	switch status.Code(err) {
	case codes.InvalidArgument, codes.Unauthenticated:
		return true
	}
	return false
}

// Verify checks a code (a recovery code too when recovery is set). The
// first correct code of a key e-mailed on request also confirms it.
func (m *MFA) Verify(ctx context.Context, tenantID, accountID, code string, recovery bool) (bool, error) {
	resp, err := m.c.VerifyCode(ctx, &mfainternalv1.VerifyCodeRequest{TenantId: tenantID, AccountId: accountID, Code: code, AllowRecoveryCode: recovery})
	if wrongCode(err) {
		return false, nil
	}
	if err != nil {
		return false, mfaErr(err)
	}
	return resp.GetOk(), nil
}

// StartEnrollment starts a TOTP enrolment at the ENROLL_MFA log-in step.
func (m *MFA) StartEnrollment(ctx context.Context, tenantID, accountID string) (*credential.TOTPEnrollment, error) {
	resp, err := m.c.StartTotpEnrollment(ctx, &mfainternalv1.StartTotpEnrollmentRequest{TenantId: tenantID, AccountId: accountID})
	if err != nil {
		return nil, mfaErr(err)
	}
	return &credential.TOTPEnrollment{Secret: resp.GetSecret(), OtpauthURI: resp.GetOtpauthUri(), QRPNG: resp.GetQrPng()}, nil
}

// FinishEnrollment confirms the enrolment with its first code and returns
// the recovery codes; ok is false when the code is wrong. An enrolment
// mfa does not know (never started, or expired there) is
// credential.ErrEnrollmentNotStarted.
func (m *MFA) FinishEnrollment(ctx context.Context, tenantID, accountID, code string) (recoveryCodes []string, ok bool, err error) {
	resp, err := m.c.FinishTotpEnrollment(ctx, &mfainternalv1.FinishTotpEnrollmentRequest{TenantId: tenantID, AccountId: accountID, Code: code})
	switch {
	case wrongCode(err), reasonOf(err) == reasonEnrollmentEnded:
		return nil, false, nil
	case reasonOf(err) == reasonEnrollmentNotFound, status.Code(err) == codes.NotFound:
		return nil, false, credential.ErrEnrollmentNotStarted()
	case err != nil:
		return nil, false, mfaErr(err)
	}
	return resp.GetRecoveryCodes(), true, nil
}
