package app

import (
	"context"
	"time"

	libevents "github.com/latchkey/latchkey/libs/events"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
	"github.com/latchkey/latchkey/services/credential/internal/events"
	"github.com/latchkey/latchkey/services/credential/internal/store"
)

// This file holds how every use case that ends sessions ends them: each
// with its SessionRevoked event, in the transaction of the change.

// endAccess ends, in tx at now, what the account's earlier proofs gave,
// because they no longer count (a new password, a lock, a disabled
// account): every PIN key of its devices, so each device needs the
// password again, and its sessions but keep, each with its event.
func (a *App) endAccess(ctx context.Context, tx store.Tx, tenantID, accountID, keep, reason string, now time.Time) ([]string, error) {
	if err := tx.RevokeDevices(ctx, tenantID, accountID, now); err != nil {
		return nil, err
	}
	return a.revokeInTx(ctx, tx, tenantID, accountID, keep, reason, nil, now)
}

// revokeInTx revokes, in tx at now, the account's sessions (only the ones
// named, when any; all but keep otherwise) with the PIN keys of their
// devices, each session with its SessionRevoked event, and returns their
// ids.
func (a *App) revokeInTx(ctx context.Context, tx store.Tx, tenantID, accountID, keep, reason string, actor *eventsv1.Actor,
	now time.Time, only ...string) ([]string, error) {
	revoked, err := tx.RevokeSessions(ctx, tenantID, accountID, only, keep, now)
	if err != nil {
		return nil, err
	}
	return revoked, a.emitRevoked(ctx, tx, tenantID, accountID, revoked, reason, actor, now)
}

// emitRevoked writes, in tx, the SessionRevoked event of each session of
// revoked, ended at now.
func (a *App) emitRevoked(ctx context.Context, tx store.Tx, tenantID, accountID string, revoked []string, reason string,
	actor *eventsv1.Actor, now time.Time) error {
	if actor == nil {
		actor = libevents.ActorOf(nil, reason)
	}
	// Access tokens of these sessions stay valid until they expire unless
	// every service refuses them: the event feeds their denylists.
	until := now.Add(a.Issuer.AccessTTL())
	for _, id := range revoked {
		if err := tx.Emit(ctx, events.SessionRevoked(tenantID, accountID, id, reason, until, actor, now)); err != nil {
			return err
		}
	}
	return nil
}
