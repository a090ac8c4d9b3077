// Package credentials is the account service's client of the credential
// service, which keeps every password.
package credentials

import (
	"context"

	"github.com/latchkey/latchkey/libs/errs"
	credentialv1 "github.com/latchkey/latchkey/proto/gen/latchkey/credential/v1"
	"github.com/latchkey/latchkey/services/account/internal/account"
)

// Client calls the credential service's internal API.
type Client struct {
	c credentialv1.CredentialInternalServiceClient
}

// New returns a client over c.
func New(c credentialv1.CredentialInternalServiceClient) *Client { return &Client{c: c} }

// SetTemporary stores a's temporary password.
func (c *Client) SetTemporary(ctx context.Context, a *account.Account, password string, rules *account.PasswordPolicy) error {
	req := &credentialv1.SetTemporaryPasswordRequest{
		TenantId: a.TenantID, AccountId: a.ID, Password: password,
		Username: a.Username, Email: a.Email, DisplayName: a.DisplayName,
	}
	if rules != nil {
		req.Rules = &credentialv1.PasswordRules{
			MinLength: int32(rules.MinLength), MinUppercase: int32(rules.MinUppercase), MinLowercase: int32(rules.MinLowercase),
			MinDigits: int32(rules.MinDigits), MinSymbols: int32(rules.MinSymbols), CheckBreached: rules.CheckBreached,
		}
	}
	_, err := c.c.SetTemporaryPassword(ctx, req)
	return errs.FromStatus(err)
}
