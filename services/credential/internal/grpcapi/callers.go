package grpcapi

import (
	"github.com/latchkey/latchkey/libs/grpcx"
	credentialv1 "github.com/latchkey/latchkey/proto/gen/latchkey/credential/v1"
	credentialinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/credential/v1"
)

// Callers says which services may call each internal method; any other
// caller, and any method not named here (AuthService's log-in methods on
// the internal port among them), is refused.
var Callers = grpcx.Callers{
	credentialinternalv1.CredentialInternalService_SetInitialPassword_FullMethodName:    {"recovery"},
	credentialinternalv1.CredentialInternalService_SetPasswordAfterReset_FullMethodName: {"recovery"},
	credentialinternalv1.CredentialInternalService_SetTemporaryPassword_FullMethodName:  {"account"},
	credentialinternalv1.CredentialInternalService_VerifyPassword_FullMethodName:        {"recovery", "mfa"},
	credentialinternalv1.CredentialInternalService_GetPasswordStatus_FullMethodName:     {"account"},
	credentialinternalv1.CredentialInternalService_RevokeAllSessions_FullMethodName:     {"account", "recovery", "mfa"},
	credentialinternalv1.CredentialInternalService_RecordFailedAttempt_FullMethodName:   {"recovery", "mfa"},
	credentialinternalv1.CredentialInternalService_ClearFailedAttempts_FullMethodName:   {"account", "recovery"},
	// Whether a session is live, for every other service that verifies
	// access tokens, while its revocation feed is behind (NATS down).
	credentialinternalv1.CredentialInternalService_CheckSession_FullMethodName: {"account", "recovery", "mfa", "notification"},
	// The keys access tokens are verified with, for every service that
	// verifies them.
	credentialv1.AuthService_GetJwks_FullMethodName: {"account", "credential", "recovery", "mfa", "notification"},
}
