package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/events"
	"github.com/latchkey/latchkey/libs/idempotency"
	"github.com/latchkey/latchkey/libs/ids"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
	"github.com/latchkey/latchkey/services/account/internal/account"
	accountevents "github.com/latchkey/latchkey/services/account/internal/events"
	"github.com/latchkey/latchkey/services/account/internal/store"
)

// NewAccount is an administrator's request for an account.
type NewAccount struct {
	Username    string
	Email       string
	DisplayName string
	Roles       []account.Role
	Locale      string
	// Activation is how the first password is set; empty means
	// EMAIL_LINK.
	Activation        account.Activation
	TemporaryPassword string
	// Idempotency is the call's idempotency key, for CreateAccount (a
	// tenant's first administrator goes by the tenant's); zero: none.
	Idempotency idempotency.Request
}

// CreateAccount creates an account in the caller's tenant. A call with an
// idempotency key the caller used before for the same request answers the
// account that call created, and creates nothing.
func (a *App) CreateAccount(ctx context.Context, p *authn.Principal, cmd NewAccount) (*account.Account, error) {
	t, err := a.adminTenant(ctx, p)
	if err != nil {
		return nil, err
	}
	scope := idempotency.ScopeOf(t.ID, p)
	// Looked up before the temporary password goes to the credential
	// service: a retry changes nothing there either.
	var first account.Account
	if replayed, err := a.replayed(ctx, a.store, scope, cmd.Idempotency, &first); replayed || err != nil {
		return orNil(&first, err)
	}
	acct, err := newAccount(t, cmd, "")
	if err != nil {
		return nil, err
	}
	if err := a.setTemporaryPassword(ctx, acct, cmd, nil, ""); err != nil {
		return nil, err
	}
	replayed, err := a.createOnce(ctx, scope, cmd.Idempotency, func(tx store.Tx, now time.Time) error {
		return a.createAccountInTx(ctx, tx, acct, cmd.Activation, events.ActorOf(p, ""), "", now)
	}, acct, &first)
	if replayed {
		return orNil(&first, err)
	}
	return orNil(acct, err)
}

// orNil is v, or nil when err is set.
func orNil[T any](v *T, err error) (*T, error) {
	if err != nil {
		return nil, err
	}
	return v, nil
}

// newAccount builds and validates the account cmd asks for in tenant t;
// createAccountInTx gives it its times.
func newAccount(t *account.Tenant, cmd NewAccount, prefix string) (*account.Account, error) {
	if cmd.Activation == "" {
		cmd.Activation = account.ActivationEmailLink
	}
	locale := cmd.Locale
	if locale == "" {
		locale = t.Policy.Locale
	}
	a := &account.Account{
		ID: ids.New(), TenantID: t.ID, Username: cmd.Username, Email: cmd.Email, DisplayName: cmd.DisplayName,
		Roles: cmd.Roles, Status: account.StatusPending, Locale: locale,
	}
	err := account.ValidateNewAccount(a, t.Policy, prefix)
	field := func(name string) string {
		if prefix == "" {
			return name
		}
		return prefix + "." + name
	}
	switch cmd.Activation {
	case account.ActivationEmailLink:
		if cmd.TemporaryPassword != "" {
			err = errs.JoinInvalid(err, errs.Invalid(errs.Field(field("temporaryPassword"), "NOT_ALLOWED",
				"a temporary password is given only with activation TEMPORARY_PASSWORD")))
		}
	case account.ActivationTemporaryPassword:
		if cmd.TemporaryPassword == "" {
			err = errs.JoinInvalid(err, errs.Invalid(errs.Field(field("temporaryPassword"), account.ReasonRequired,
				"activation TEMPORARY_PASSWORD needs the temporary password")))
		}
		// The admin chose the first password: the account is usable at
		// once, and the password must be changed at the first log-in.
		a.Status = account.StatusActive
	default:
		err = errs.JoinInvalid(err, errs.Invalid(errs.Field(field("activation"), account.ReasonInvalidFormat,
			"EMAIL_LINK or TEMPORARY_PASSWORD")))
	}
	if err != nil {
		return nil, err
	}
	return a, nil
}

// setTemporaryPassword has the credential service keep the temporary
// password of a new account, before the account is stored: a password the
// tenant's rules refuse then stops the creation, with the reasons. rules
// are given when the tenant is being created too and cannot be looked up.
func (a *App) setTemporaryPassword(ctx context.Context, acct *account.Account, cmd NewAccount, rules *account.PasswordPolicy, prefix string) error {
	if cmd.Activation != account.ActivationTemporaryPassword {
		return nil
	}
	if a.credentials == nil {
		return errs.Unavailable("CREDENTIAL_SERVICE_MISSING", "temporary passwords need the credential service", nil)
	}
	return prefixFields(a.credentials.SetTemporary(ctx, acct, cmd.TemporaryPassword, rules), prefix)
}

// createAccountInTx stores a new account with its events, created at now
// (taken inside tx). conflictPrefix is prepended to the field a conflict
// names.
func (a *App) createAccountInTx(ctx context.Context, tx store.Tx, acct *account.Account, activation account.Activation, actor *eventsv1.Actor, conflictPrefix string, now time.Time) error {
	if activation == "" {
		activation = account.ActivationEmailLink
	}
	acct.Created(now)
	if err := a.checkUsernameNotHeld(ctx, tx, acct.TenantID, acct.Username, acct.ID, "username"); err != nil {
		return prefixFields(err, conflictPrefix)
	}
	if err := tx.CreateAccount(ctx, acct); err != nil {
		return prefixFields(err, conflictPrefix)
	}
	if err := tx.Emit(ctx, accountevents.AccountCreated(acct, activation, actor)); err != nil {
		return err
	}
	if activation == account.ActivationEmailLink {
		return tx.Emit(ctx, accountevents.AccountInvited(acct, actor, acct.CreatedAt))
	}
	return nil
}

// checkUsernameNotHeld refuses username for accountID while another
// account of the tenant gave it up less than Options.UsernameReuse ago: a
// login ID is not taken over by someone else right after a rename.
func (a *App) checkUsernameNotHeld(ctx context.Context, r store.Reader, tenantID, username, accountID, field string) error {
	if a.opts.UsernameReuse <= 0 {
		return nil
	}
	held, err := r.UsernameHeld(ctx, tenantID, username, accountID, a.clock.Now().Add(-a.opts.UsernameReuse))
	if err != nil || !held {
		return err
	}
	return a.errUsernameRecentlyReleased(field)
}

func (a *App) errUsernameRecentlyReleased(field string) error {
	return errs.Conflict(field, "USERNAME_RECENTLY_RELEASED", fmt.Sprintf(
		"another account of this tenant gave up this username less than %d days ago", int(a.opts.UsernameReuse.Hours()/24)))
}

// renameField renames field from to to in the violations of an errs error
// (a store names its column, the request its own field).
func renameField(err error, from, to string) error {
	var e *errs.Error
	if !errors.As(err, &e) || len(e.Fields) == 0 {
		return err
	}
	c := *e
	c.Fields = make([]errs.FieldViolation, len(e.Fields))
	for i, f := range e.Fields {
		if f.Field == from {
			f.Field = to
		}
		c.Fields[i] = f
	}
	return &c
}

// prefixFields renames the fields of an errs error to prefix.field.
func prefixFields(err error, prefix string) error {
	var e *errs.Error
	if prefix == "" || !errors.As(err, &e) || len(e.Fields) == 0 {
		return err
	}
	c := *e
	c.Fields = make([]errs.FieldViolation, len(e.Fields))
	for i, f := range e.Fields {
		f.Field = prefix + "." + f.Field
		c.Fields[i] = f
	}
	return &c
}
