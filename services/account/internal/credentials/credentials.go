// Package credentials is the account service's client of the credential
// service, which keeps every password and session.
package credentials

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/latchkey/latchkey/libs/errs"
	credentialinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/credential/v1"
	"github.com/latchkey/latchkey/services/account/internal/account"
	"github.com/latchkey/latchkey/services/account/internal/convert"
)

// Client calls the credential service's internal API.
type Client struct {
	c credentialinternalv1.CredentialInternalServiceClient
}

// New returns a client over c.
func New(c credentialinternalv1.CredentialInternalServiceClient) *Client { return &Client{c: c} }

// SetTemporary stores a's temporary password.
func (c *Client) SetTemporary(ctx context.Context, a *account.Account, password string, rules *account.PasswordPolicy) error {
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
func (c *Client) RevokeAllSessions(ctx context.Context, tenantID, accountID, reason string) error {
	_, err := c.c.RevokeAllSessions(ctx, &credentialinternalv1.RevokeAllSessionsRequest{TenantId: tenantID, AccountId: accountID, Reason: reason})
	return errs.FromStatus(err)
}

// ClearFailedAttempts restarts an account's failed log-in count. A
// credential service that does not have the call yet is not an error: it
// restarts the count itself at the next log-in of an active account.
func (c *Client) ClearFailedAttempts(ctx context.Context, tenantID, accountID string) error {
	_, err := c.c.ClearFailedAttempts(ctx, &credentialinternalv1.ClearFailedAttemptsRequest{TenantId: tenantID, AccountId: accountID})
	if status.Code(err) == codes.Unimplemented {
		return nil
	}
	return errs.FromStatus(err)
}

// PasswordSummary tells about an account's password; nil (and no error)
// when the credential service does not have the call yet.
func (c *Client) PasswordSummary(ctx context.Context, tenantID, accountID string) (*account.PasswordSummary, error) {
	resp, err := c.c.GetPasswordStatus(ctx, &credentialinternalv1.GetPasswordStatusRequest{TenantId: tenantID, AccountId: accountID})
	if status.Code(err) == codes.Unimplemented {
		return nil, nil
	}
	if err != nil {
		return nil, errs.FromStatus(err)
	}
	s := &account.PasswordSummary{Temporary: resp.GetTemporary(), ExpiresSoon: resp.GetExpiresSoon()}
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
