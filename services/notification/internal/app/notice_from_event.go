package app

import (
	"context"
	"maps"
	"time"

	"github.com/latchkey/latchkey/services/notification/internal/delivery"
	"github.com/latchkey/latchkey/services/notification/internal/store"
)

// Notice is a security notice an event of another service calls for.
type Notice struct {
	// EventID is the id of the event: one notice per event, whichever
	// way (and however often) it reaches the service.
	EventID   string
	TenantID  string
	AccountID string
	Template  delivery.Template
	// OccurredAt is when the event happened ("time" in the message);
	// zero when the event does not say.
	OccurredAt time.Time
	Variables  map[string]string
}

// NoticeFromEvent stores the e-mail that tells an account's owner about
// n, in tx (the inbox's transaction). The recipient's address, name and
// language are looked up when the worker sends it.
func (a *App) NoticeFromEvent(ctx context.Context, tx store.Tx, n Notice) error {
	vars := maps.Clone(n.Variables)
	if vars == nil {
		vars = map[string]string{}
	}
	if !n.OccurredAt.IsZero() {
		vars["time"] = n.OccurredAt.UTC().Format(time.RFC3339)
	}
	_, err := a.SendNotificationInTx(ctx, tx, delivery.Request{
		RequestID: "event:" + n.EventID, TenantID: n.TenantID, AccountID: n.AccountID,
		Template: n.Template, Variables: vars,
	})
	return err
}
