// Package peers holds the account service's clients of the other
// services, one file each. Each turns the peer's API into the account
// domain.
package peers

import (
	"context"

	"github.com/latchkey/latchkey/libs/errs"
	credentialinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/credential/v1"
	"github.com/latchkey/latchkey/services/account/internal/account"
	"github.com/latchkey/latchkey/services/account/internal/convert"
)

// Credentials calls the internal API of the credential service, which
// keeps every password and session.
type Credentials struct {
	c credentialinternalv1.CredentialInternalServiceClient
}

// NewCredentials returns a client over c.
func NewCredentials(c credentialinternalv1.CredentialInternalServiceClient) *Credentials {
	return &Credentials{c: c}
}

// SetTemporary stores a's temporary password.
func (c *Credentials) SetTemporary(ctx context.Context, a *account.Account, password string, rules *account.PasswordPolicy) error {
	req := &credentialinternalv1.SetTemporaryPasswordRequest{
		TenantId: a.TenantID, AccountId: a.ID, Password: password,
		Username: a.Username, Email: a.Email, DisplayName: a.DisplayName,
	}
	if rules != nil {
		req.Rules = convert.PasswordRules(*rules)
	}
	_, err := c.c.SetTemporaryPassword(ctx, req)
	return errs.FromStatus(err)
}

// RevokeAllSessions ends every session of an account; reason goes into the
// SessionRevoked events.
func (c *Credentials) RevokeAllSessions(ctx context.Context, tenantID, accountID, reason string) error {
	_, err := c.c.RevokeAllSessions(ctx, &credentialinternalv1.RevokeAllSessionsRequest{TenantId: tenantID, AccountId: accountID, Reason: reason})
	return errs.FromStatus(err)
}

// ClearFailedAttempts restarts an account's failed log-in count.
func (c *Credentials) ClearFailedAttempts(ctx context.Context, tenantID, accountID string) error {
	_, err := c.c.ClearFailedAttempts(ctx, &credentialinternalv1.ClearFailedAttemptsRequest{TenantId: tenantID, AccountId: accountID})
	return errs.FromStatus(err)
}

// PasswordSummary tells about an account's password.
func (c *Credentials) PasswordSummary(ctx context.Context, tenantID, accountID string) (*account.PasswordSummary, error) {
	resp, err := c.c.GetPasswordStatus(ctx, &credentialinternalv1.GetPasswordStatusRequest{TenantId: tenantID, AccountId: accountID})
	if err != nil {
		return nil, errs.FromStatus(err)
	}
	s := &account.PasswordSummary{Temporary: resp.GetTemporary(), ExpiresSoon: resp.GetExpiresSoon(), PINSet: resp.GetPinSet()}
	if resp.ChangeTime != nil {
		t := resp.GetChangeTime().AsTime()
		s.ChangedAt = &t
	}
	if resp.ExpireTime != nil {
		t := resp.GetExpireTime().AsTime()
		s.ExpiresAt = &t
	}
	return s, nil
}
