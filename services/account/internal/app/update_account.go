package app

import (
	"context"
	"slices"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/events"
	"github.com/latchkey/latchkey/services/account/internal/account"
	accountevents "github.com/latchkey/latchkey/services/account/internal/events"
	"github.com/latchkey/latchkey/services/account/internal/store"
)

// UpdateAccount is an administrator's change of an account's profile and
// roles; nil fields are unchanged (the update mask of the API, in domain
// terms: grpcapi sets the fields the mask names).
type UpdateAccount struct {
	ID          string
	DisplayName *string
	Email       *string
	// Locale "" means the tenant's locale.
	Locale *string
	// Roles replace the account's roles.
	Roles *[]account.Role
}

// ReasonLastAdmin refuses a change that would leave a tenant without an
// administrator.
const ReasonLastAdmin = "LAST_ADMIN"

// UpdateAccount changes the profile and roles of an account of the
// caller's tenant. The e-mail address stays unique in the tenant; in a
// tenant whose usernames are e-mail addresses, a username that was the old
// address follows the new one (UsernameChanged, and the old one is
// released). The tenant keeps at least one administrator that is not
// disabled.
func (a *App) UpdateAccount(ctx context.Context, p *authn.Principal, cmd UpdateAccount) (*account.Account, error) {
	var rolesChanged bool
	_, acct, err := a.adminChange(ctx, p, cmd.ID, "", func(tx store.Tx, t *account.Tenant, acct *account.Account) ([]store.Event, error) {
		before := *acct
		before.Roles = slices.Clone(acct.Roles)
		if cmd.DisplayName != nil {
			acct.DisplayName = *cmd.DisplayName
		}
		if cmd.Email != nil {
			acct.Email = *cmd.Email
		}
		if cmd.Locale != nil {
			acct.Locale = *cmd.Locale
			if acct.Locale == "" {
				acct.Locale = t.Policy.Locale
			}
		}
		if cmd.Roles != nil {
			acct.Roles = *cmd.Roles
		}
		usernameMoved := t.Policy.UsernameIsEmail && cmd.Email != nil &&
			account.FoldEmail(before.Username) == account.FoldEmail(before.Email) && account.FoldEmail(acct.Email) != account.FoldEmail(before.Email)
		if usernameMoved {
			acct.Username = acct.Email
		}
		if err := account.ValidateChangedAccount(&before, acct, t.Policy); err != nil {
			return nil, err
		}
		changed := changedFields(&before, acct)
		if len(changed) == 0 {
			return nil, nil
		}
		rolesChanged = slices.Contains(changed, "roles")
		demoted := before.HasRole(account.RoleAdmin) && !acct.HasRole(account.RoleAdmin)
		if demoted {
			// Two administrators demoting each other at once must not
			// both succeed: the tenant row makes them take turns.
			if err := tx.LockTenantRow(ctx, t.ID); err != nil {
				return nil, err
			}
		}
		if usernameMoved {
			if err := a.moveUsername(ctx, tx, acct, before.Username, "email"); err != nil {
				return nil, err
			}
		}
		if err := tx.UpdateAccount(ctx, acct); err != nil {
			if usernameMoved {
				err = renameField(err, "username", "email")
			}
			return nil, err
		}
		if demoted {
			n, err := tx.CountAdmins(ctx, t.ID)
			if err != nil {
				return nil, err
			}
			if n == 0 {
				return nil, errs.FailedPrecondition(ReasonLastAdmin, "this is the tenant's last administrator: make another account ADMIN first")
			}
		}
		actor := events.ActorOf(p, "")
		evs := []store.Event{accountevents.AccountUpdated(acct, changed, actor)}
		if usernameMoved {
			evs = append(evs, accountevents.UsernameChanged(acct, before.Username, actor))
		}
		return evs, nil
	})
	if err != nil || !rolesChanged {
		return acct, err
	}
	// After the commit, as lock and disable do: the account's access
	// tokens carry the old roles (a demoted ADMIN's would still open admin
	// routes), so every service must refuse them at once, as after a
	// password change; its user logs in again and gets the new roles. The
	// AccountUpdated event naming "roles" ends them too, should this call
	// fail.
	a.revokeSessions(ctx, acct, "ROLES_CHANGED")
	return acct, nil
}

// changedFields names what differs between before and after, as the
// AccountUpdated event names them.
func changedFields(before, after *account.Account) []string {
	var out []string
	if before.Email != after.Email {
		out = append(out, "email")
	}
	if before.DisplayName != after.DisplayName {
		out = append(out, "display_name")
	}
	if before.Locale != after.Locale {
		out = append(out, "locale")
	}
	if !slices.Equal(before.Roles, after.Roles) {
		out = append(out, "roles")
	}
	return out
}
