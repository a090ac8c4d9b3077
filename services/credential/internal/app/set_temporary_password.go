package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/errs"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
	"github.com/latchkey/latchkey/services/credential/internal/credential"
	"github.com/latchkey/latchkey/services/credential/internal/password"
)

// SetTemporaryRequest is the account service storing the temporary
// password of an account it is about to create.
type SetTemporaryRequest struct {
	TenantID, AccountID string
	Password            string
	Personal            password.Personal
	// Rules are given when the tenant is being created with the account;
	// nil: the tenant's own.
	Rules *password.Rules
}

// SetTemporaryPassword stores a temporary password, to be replaced at the
// first log-in. Violations are reported on "temporaryPassword".
//
// Unlike the other changes of a password, it is not noted to the account
// service (noteSecurityChange): the account service calls it for an
// account it has not stored yet, of which no GET /v1/me answer is kept.
func (a *App) SetTemporaryPassword(ctx context.Context, req SetTemporaryRequest) error {
	if err := errs.JoinInvalid(checkID("tenantId", req.TenantID), checkID("accountId", req.AccountID)); err != nil {
		return err
	}
	subj := &credential.Subject{TenantID: req.TenantID, AccountID: req.AccountID, Username: req.Personal.Username,
		Email: req.Personal.Email, DisplayName: req.Personal.DisplayName}
	if req.Rules != nil {
		subj.Policy.Rules = *req.Rules
	} else {
		p, err := a.Accounts.Policy(ctx, req.TenantID)
		if err != nil {
			return err
		}
		subj.Policy = p
	}
	return a.replacePassword(ctx, subj, req.Password, "temporaryPassword", true, eventsv1.PasswordChanged_Cause_VALUE_UNSPECIFIED, "")
}
