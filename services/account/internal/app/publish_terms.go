package app

import (
	"context"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/events"
	"github.com/latchkey/latchkey/services/account/internal/account"
	accountevents "github.com/latchkey/latchkey/services/account/internal/events"
	"github.com/latchkey/latchkey/services/account/internal/store"
)

// PublishTerms publishes a new terms version of the caller's tenant and
// makes it the current one: where the tenant requires terms, every
// account must accept it (ACCEPT_TERMS) at its next log-in. A version is
// published once; the texts of earlier versions are kept.
func (a *App) PublishTerms(ctx context.Context, p *authn.Principal, version, text string) (*account.Tenant, error) {
	t, err := a.adminTenant(ctx, p)
	if err != nil {
		return nil, err
	}
	if err := account.ValidateTerms(version, text); err != nil {
		return nil, err
	}
	var out *account.Tenant
	err = a.store.InTx(ctx, func(tx store.Tx) error {
		cur, err := tx.GetTenant(ctx, t.ID)
		if err != nil {
			return err
		}
		now := a.clock.Now()
		if err := tx.CreateTerms(ctx, &account.Terms{TenantID: cur.ID, Version: version, Text: text, PublishedAt: now}); err != nil {
			return err
		}
		cur.TermsVersion, cur.UpdatedAt = version, now
		if err := tx.UpdateTenant(ctx, cur); err != nil {
			return err
		}
		out = cur
		return tx.Emit(ctx, accountevents.TermsPublished(cur, events.ActorOf(p, "")))
	})
	a.tenants.forget(t.ID)
	return out, err
}
