package app

import (
	"context"
	"strings"

	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/services/notification/internal/delivery"
	"github.com/latchkey/latchkey/services/notification/internal/store"
)

// SendNotification stores a request for an e-mail and returns its
// delivery. A request id seen before returns the first delivery and stores
// nothing. Nothing is sent here: the worker picks the delivery up once it
// is committed.
func (a *App) SendNotification(ctx context.Context, req delivery.Request) (*delivery.Delivery, error) {
	var d *delivery.Delivery
	err := a.store.InTx(ctx, func(tx store.Tx) error {
		var err error
		d, err = a.SendNotificationInTx(ctx, tx, req)
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// SendNotificationInTx is SendNotification in tx, a transaction of the
// caller's: the inbox's, which records the message id in the same
// transaction, so a redelivered request stores nothing more.
func (a *App) SendNotificationInTx(ctx context.Context, tx store.Tx, req delivery.Request) (*delivery.Delivery, error) {
	req.RecipientAddress = strings.TrimSpace(req.RecipientAddress)
	if err := req.Validate(); err != nil {
		return nil, err
	}
	now := a.clock.Now()
	d, created, err := tx.Insert(ctx, &delivery.Delivery{
		ID: ids.New(), RequestID: req.RequestID, TenantID: req.TenantID, AccountID: req.AccountID,
		Template: req.Template, RecipientAddress: req.RecipientAddress, RecipientName: req.RecipientName,
		Locale: req.Locale, Variables: req.Variables, Status: delivery.Queued, CreatedAt: now, UpdatedAt: now,
	})
	if err != nil {
		return nil, err
	}
	if created {
		tx.AfterCommit(a.Wake)
	}
	return d, nil
}
