package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/events"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
	"github.com/latchkey/latchkey/services/account/internal/account"
	accountevents "github.com/latchkey/latchkey/services/account/internal/events"
	"github.com/latchkey/latchkey/services/account/internal/store"
)

// RecordTermsAcceptance records that the user accepted version, which must
// be the tenant's current one (the ACCEPT_TERMS step of a log-in).
func (a *App) RecordTermsAcceptance(ctx context.Context, tenantID, accountID, version string) (*account.Account, error) {
	if err := checkAccountRef(tenantID, accountID); err != nil {
		return nil, err
	}
	return a.recordTermsAcceptance(ctx, tenantID, accountID, version, "acceptTermsVersion", events.ActorOf(nil, ""))
}

// recordTermsAcceptance records the acceptance of version; field names the
// version in the caller's request.
func (a *App) recordTermsAcceptance(ctx context.Context, tenantID, accountID, version, field string, actor *eventsv1.Actor) (*account.Account, error) {
	t, err := a.store.GetTenant(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if version == "" || version != t.TermsVersion {
		return nil, errs.Invalid(errs.Field(field, "TERMS_VERSION_NOT_CURRENT",
			"accept the tenant's current terms version: "+t.TermsVersion))
	}
	return a.changeAccount(ctx, tenantID, accountID, func(tx store.Tx, acct *account.Account) ([]store.Event, error) {
		if acct.AcceptedTermsVersion == version {
			return nil, nil
		}
		acct.AcceptedTermsVersion = version
		return []store.Event{accountevents.TermsAccepted(acct, actor)}, nil
	})
}
