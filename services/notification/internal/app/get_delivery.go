package app

import (
	"context"

	"github.com/latchkey/latchkey/services/notification/internal/delivery"
)

// GetDelivery returns a delivery; errs NotFound when there is none.
func (a *App) GetDelivery(ctx context.Context, id string) (*delivery.Delivery, error) {
	return a.store.Get(ctx, id)
}
