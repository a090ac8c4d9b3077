package grpcapi

import (
	"github.com/latchkey/latchkey/libs/grpcx"
	recoveryinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/recovery/v1"
)

// Callers says which services may call each internal method; any other
// caller, and any method not named here, is refused.
var Callers = grpcx.Callers{
	recoveryinternalv1.RecoveryInternalService_IssueActivation_FullMethodName:    {"account"},
	recoveryinternalv1.RecoveryInternalService_IssuePasswordReset_FullMethodName: {"account"},
	recoveryinternalv1.RecoveryInternalService_RevokeLinkTokens_FullMethodName:   {"account", "credential"},
	recoveryinternalv1.RecoveryInternalService_GetRecoveryInfo_FullMethodName:    {"account", "credential"},
}
