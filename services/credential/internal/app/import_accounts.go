package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/idempotency"
	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/libs/passhash"
	"github.com/latchkey/latchkey/services/credential/internal/credential"
	"github.com/latchkey/latchkey/services/credential/internal/store"
)

// knownRoles are the roles an import may give (OPERATOR is not one).
var knownRoles = map[string]bool{authn.RoleAdmin: true, authn.RoleUser: true, authn.RoleClient: true}

// ImportAccounts is an administrator importing accounts from an old system
// with their legacy password hashes (bcrypt, PBKDF2-SHA256, Argon2): all
// or nothing. Every row is checked — its hash here, the account fields by
// the account service — and when any row is refused nothing is created and
// every refused row is reported. Otherwise the hashes are stored first and
// the accounts created after, so no imported ACTIVE account is ever
// without its password; the first log-in upgrades each hash to Argon2id.
// A row without a hash becomes a PENDING account whose activation e-mail
// the account service asks for (AccountInvited, which recovery consumes):
// its owner chooses the first password from the link.
//
// With an idempotency key (idem), the account service keeps the key with
// the accounts it creates: a repeat of the call answers the first call's
// accounts and neither stores hashes nor creates anything; the same key
// with another request is a Conflict (IDEMPOTENCY_KEY_REUSED).
func (a *App) ImportAccounts(ctx context.Context, p *authn.Principal, rows []credential.ImportRow, idem idempotency.Request) ([]credential.ImportOutcome, bool, error) {
	tenantID, err := a.adminTenant(ctx, p)
	if err != nil {
		return nil, false, err
	}
	var key credential.ImportKey
	if idem.Has() {
		key = credential.ImportKey{Request: idem, Caller: idempotency.ScopeOf(tenantID, p).Caller}
	}
	if len(rows) == 0 {
		return nil, false, errs.Invalid(errs.Field("accounts", "REQUIRED", "at least one account"))
	}
	local := make([]error, len(rows))
	refused := false
	for i := range rows {
		rows[i].AccountID = ids.New()
		var v errs.Violations
		for _, r := range rows[i].Roles {
			if !knownRoles[r] {
				v.Add("roles", "INVALID_FORMAT", fmt.Sprintf("unknown role %q", r))
			}
		}
		// The row's path names the field, so a refusal says which row
		// and which field (the outcome's message is all the caller sees).
		var hashErr error
		if rows[i].LegacyPasswordHash != "" {
			field := fmt.Sprintf("accounts[%d].%s", i, passhash.LegacyHashField)
			hashErr = passhash.ValidateLegacy(rows[i].LegacyPasswordHash, field)
		}
		local[i] = errs.JoinInvalid(v.Err(), hashErr)
		refused = refused || local[i] != nil
	}
	outcomes, created, err := a.Accounts.ImportAccounts(ctx, tenantID, rows, true, key)
	if err != nil {
		return nil, false, err
	}
	if created {
		// Only a key that made this import before answers "created" to
		// a check: the first call's accounts are the answer.
		return outcomes, true, nil
	}
	for i, o := range outcomes {
		refused = refused || o.ErrorCode != ""
		if local[i] != nil {
			outcomes[i] = merge(local[i], o)
		}
	}
	if refused {
		return outcomes, false, nil
	}
	err = a.Store.InTx(ctx, func(tx store.Tx) error {
		now := a.Clock.Now()
		for _, r := range rows {
			if r.LegacyPasswordHash == "" {
				continue // PENDING: the activation link sets the first password
			}
			if err := tx.SavePassword(ctx, &credential.Password{TenantID: tenantID, AccountID: r.AccountID,
				Hash: r.LegacyPasswordHash, ChangedAt: now}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	// The hashes are not noted to the account service
	// (noteSecurityChange): their ids were chosen above, for accounts it
	// creates next, of which no GET /v1/me answer is kept.
	//
	// Stored hashes of accounts that end up not created belong to no
	// account: no log-in can reach them. So do those of a copy of this
	// call (same key) that ran at the same time and lost: the answer is
	// then the winner's accounts, with their ids.
	outcomes, created, err = a.Accounts.ImportAccounts(ctx, tenantID, rows, false, key)
	return outcomes, created, err
}

// merge adds a local refusal of a row to the account service's verdict.
func merge(local error, o credential.ImportOutcome) credential.ImportOutcome {
	var e *errs.Error
	code := "INVALID_ARGUMENT"
	if errors.As(local, &e) && e.Kind != errs.KindInvalid {
		code = "INTERNAL"
	}
	if o.ErrorCode == "" {
		return credential.ImportOutcome{ErrorCode: code, ErrorMessage: local.Error()}
	}
	return credential.ImportOutcome{ErrorCode: o.ErrorCode, ErrorMessage: o.ErrorMessage + "; " + local.Error()}
}
