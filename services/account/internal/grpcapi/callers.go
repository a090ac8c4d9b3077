package grpcapi

import (
	"github.com/latchkey/latchkey/libs/grpcx"
	accountinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/account/v1"
)

// Callers says which services may call each internal method; any other
// caller, and any method not named here, is refused.
var Callers = grpcx.Callers{
	accountinternalv1.AccountInternalService_ResolveLogin_FullMethodName:           {"credential", "recovery", "mfa"},
	accountinternalv1.AccountInternalService_LookupAccount_FullMethodName:          {"credential", "recovery", "mfa", "notification"},
	accountinternalv1.AccountInternalService_GetTenantPolicy_FullMethodName:        {"credential", "recovery", "mfa", "notification"},
	accountinternalv1.AccountInternalService_GetTenantByCode_FullMethodName:        {"credential", "recovery", "mfa", "notification"},
	accountinternalv1.AccountInternalService_MarkActivated_FullMethodName:          {"recovery"},
	accountinternalv1.AccountInternalService_RecordLockout_FullMethodName:          {"credential"},
	accountinternalv1.AccountInternalService_ReleaseLockout_FullMethodName:         {"recovery"},
	accountinternalv1.AccountInternalService_RecordTermsAcceptance_FullMethodName:  {"credential"},
	accountinternalv1.AccountInternalService_CreateImportedAccounts_FullMethodName: {"credential"},
	accountinternalv1.AccountInternalService_NoteSecurityChange_FullMethodName:     {"credential", "mfa", "recovery"},
	// A deployment that sweeps from a job of its own gives the job the
	// account service's certificate.
	accountinternalv1.AccountInternalService_SweepInactive_FullMethodName: {"account"},
}
