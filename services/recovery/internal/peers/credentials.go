package peers

import (
	"context"

	"github.com/latchkey/latchkey/libs/errs"
	credentialinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/credential/v1"
	"github.com/latchkey/latchkey/services/recovery/internal/app"
)

// Credentials is the credential service.
type Credentials struct {
	c credentialinternalv1.CredentialInternalServiceClient
}

var _ app.Credentials = (*Credentials)(nil)

// NewCredentials returns the credential service's client.
func NewCredentials(c credentialinternalv1.CredentialInternalServiceClient) *Credentials {
	return &Credentials{c: c}
}

// SetInitialPassword implements app.Credentials.
func (c *Credentials) SetInitialPassword(ctx context.Context, tenantID, accountID, password string) error {
	_, err := c.c.SetInitialPassword(ctx, &credentialinternalv1.SetInitialPasswordRequest{TenantId: tenantID, AccountId: accountID, Password: password})
	return errs.FromStatus(err)
}

// SetPasswordAfterReset implements app.Credentials.
func (c *Credentials) SetPasswordAfterReset(ctx context.Context, tenantID, accountID, password string) error {
	_, err := c.c.SetPasswordAfterReset(ctx, &credentialinternalv1.SetPasswordAfterResetRequest{TenantId: tenantID, AccountId: accountID, NewPassword: password})
	return errs.FromStatus(err)
}

// RecordFailedAttempt implements app.Credentials.
func (c *Credentials) RecordFailedAttempt(ctx context.Context, tenantID, accountID, reason string) error {
	_, err := c.c.RecordFailedAttempt(ctx, &credentialinternalv1.RecordFailedAttemptRequest{TenantId: tenantID, AccountId: accountID, Reason: reason})
	return errs.FromStatus(err)
}
