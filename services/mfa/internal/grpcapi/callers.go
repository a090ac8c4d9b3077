package grpcapi

import (
	"github.com/latchkey/latchkey/libs/grpcx"
	mfainternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/mfa/v1"
)

// Callers says which services may call each internal method; any other
// caller, and any method not named here, is refused.
var Callers = grpcx.Callers{
	mfainternalv1.MfaInternalService_VerifyCode_FullMethodName:           {"credential", "recovery"},
	mfainternalv1.MfaInternalService_GetFactorStatus_FullMethodName:      {"account", "credential", "recovery"},
	mfainternalv1.MfaInternalService_StartTotpEnrollment_FullMethodName:  {"credential"},
	mfainternalv1.MfaInternalService_FinishTotpEnrollment_FullMethodName: {"credential"},
}
