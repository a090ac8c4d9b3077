package app

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/events"
	"github.com/latchkey/latchkey/libs/ids"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
	recoveryevents "github.com/latchkey/latchkey/services/recovery/internal/events"
	"github.com/latchkey/latchkey/services/recovery/internal/recovery"
	"github.com/latchkey/latchkey/services/recovery/internal/store"
)

// link is what issuing a link needs to know.
type link struct {
	tenantID, accountID string
	kind                recovery.Kind
	// requestID makes the issue idempotent: a second request with it
	// returns the first link and sends nothing ("" = always a new one).
	requestID string
	byAdmin   bool
	actor     *eventsv1.Actor
	// to is where the e-mail goes when known (zero: the account's own).
	to recovery.Recipient
}

// issueInTx issues a link in tx: it voids the account's older links of its
// kind, stores the new token's hash, queues the e-mail that carries the
// token (the notification service's work queue, through the outbox) and,
// for a reset, writes PasswordResetRequested.
func (a *App) issueInTx(ctx context.Context, tx store.Tx, l link) (*recovery.LinkToken, error) {
	now := a.Clock.Now()
	ttl := a.opts.ResetTTL
	if l.kind == recovery.Activation {
		ttl = a.opts.ActivationTTL
	}
	plain, hash := recovery.NewSecret()
	t := &recovery.LinkToken{Hash: hash, TenantID: l.tenantID, AccountID: l.accountID, Kind: l.kind, RequestID: l.requestID,
		ByAdmin: l.byAdmin, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	t, fresh, err := tx.IssueLinkToken(ctx, t)
	if err != nil || !fresh {
		return t, err // a repeated request: its link was e-mailed then
	}
	// The e-mail request is the outbox row's id and the notification
	// service's idempotency key: a relay that publishes it twice sends one
	// e-mail. A repeated request of the link returned above, before this.
	if err := tx.Emit(ctx, recoveryevents.LinkEmail(t, plain, ids.New(), l.to)); err != nil {
		return nil, err
	}
	if l.kind == recovery.Reset {
		if err := tx.Emit(ctx, recoveryevents.PasswordResetRequested(t, l.actor)); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func (a *App) issue(ctx context.Context, l link) (*recovery.LinkToken, error) {
	var t *recovery.LinkToken
	err := a.Store.InTx(ctx, func(tx store.Tx) error {
		var err error
		t, err = a.issueInTx(ctx, tx, l)
		return err
	})
	return t, err
}

// Invited issues the activation link of an account the account service
// invited, inside the inbox's transaction tx (idempotent by the event id).
// The event says the account is PENDING, and where its e-mail goes (to):
// nothing is asked of a peer, and the e-mail goes out without a look-up.
func (a *App) Invited(ctx context.Context, tx store.Tx, tenantID, accountID, eventID string, to recovery.Recipient) error {
	if err := checkRef(tenantID, accountID); err != nil {
		return err
	}
	_, err := a.issueInTx(ctx, tx, link{tenantID: tenantID, accountID: accountID, kind: recovery.Activation,
		requestID: eventID, actor: events.ActorOf(nil, ""), to: to})
	return err
}

// IssueActivation issues a new activation link for a PENDING account and
// has it e-mailed (another service asking).
func (a *App) IssueActivation(ctx context.Context, tenantID, accountID, requestID string) (time.Time, error) {
	if err := checkRef(tenantID, accountID); err != nil {
		return time.Time{}, err
	}
	acct, err := a.Accounts.Lookup(ctx, tenantID, accountID)
	if err != nil {
		return time.Time{}, err
	}
	if acct.Status != StatusPending {
		return time.Time{}, errNotPending()
	}
	t, err := a.issue(ctx, link{tenantID: tenantID, accountID: accountID, kind: recovery.Activation, requestID: requestID,
		actor: events.ActorOf(nil, "")})
	if err != nil {
		return time.Time{}, err
	}
	return t.ExpiresAt, nil
}

// IssuePasswordReset issues a reset link for an account that is not
// disabled and has it e-mailed (another service asking).
func (a *App) IssuePasswordReset(ctx context.Context, tenantID, accountID, requestID string) (time.Time, error) {
	if err := checkRef(tenantID, accountID); err != nil {
		return time.Time{}, err
	}
	acct, err := a.Accounts.Lookup(ctx, tenantID, accountID)
	if err != nil {
		return time.Time{}, err
	}
	if acct.Status == StatusDisabled {
		return time.Time{}, errDisabled()
	}
	t, err := a.issue(ctx, link{tenantID: tenantID, accountID: accountID, kind: recovery.Reset, requestID: requestID,
		actor: events.ActorOf(nil, "")})
	if err != nil {
		return time.Time{}, err
	}
	return t.ExpiresAt, nil
}

// ResendActivation is an administrator sending a PENDING account of their
// tenant a new activation e-mail; earlier links stop working.
func (a *App) ResendActivation(ctx context.Context, p *authn.Principal, accountID string) error {
	acct, err := a.adminTarget(ctx, p, accountID)
	if err != nil {
		return err
	}
	if acct.Status != StatusPending {
		return errNotPending()
	}
	_, err = a.issue(ctx, link{tenantID: acct.TenantID, accountID: acct.ID, kind: recovery.Activation, byAdmin: true,
		actor: events.ActorOf(p, "")})
	return err
}

// SendPasswordReset is an administrator e-mailing a reset link to an
// account of their tenant.
func (a *App) SendPasswordReset(ctx context.Context, p *authn.Principal, accountID string) error {
	acct, err := a.adminTarget(ctx, p, accountID)
	if err != nil {
		return err
	}
	if acct.Status == StatusDisabled {
		return errDisabled()
	}
	_, err = a.issue(ctx, link{tenantID: acct.TenantID, accountID: acct.ID, kind: recovery.Reset, byAdmin: true,
		actor: events.ActorOf(p, "")})
	return err
}

// adminTarget is the account an administrator call acts on: in the
// caller's tenant (an operator's: the one it names), and one the caller
// may act on (authn.MayActOn).
func (a *App) adminTarget(ctx context.Context, p *authn.Principal, accountID string) (*Account, error) {
	scope, err := authn.AdminTenant(p)
	if err != nil {
		return nil, err
	}
	if err := ids.Check("id", accountID); err != nil {
		return nil, err
	}
	tenantID := scope.TenantID
	if tenantID == "" {
		t, err := a.Accounts.TenantByCode(ctx, scope.TenantCode)
		if err != nil {
			return nil, err
		}
		tenantID = t.ID
	}
	acct, err := a.Accounts.Lookup(ctx, tenantID, accountID)
	if err != nil {
		return nil, err
	}
	if err := authn.MayActOn(p, acct.Roles); err != nil {
		return nil, err
	}
	return acct, nil
}

func checkRef(tenantID, accountID string) error {
	return errs.JoinInvalid(ids.Check("tenant_id", tenantID), ids.Check("account_id", accountID))
}

func errNotPending() error {
	return errs.FailedPrecondition("ACCOUNT_NOT_PENDING", "the account is already activated")
}

func errDisabled() error {
	return errs.FailedPrecondition("ACCOUNT_DISABLED", "the account is disabled")
}
