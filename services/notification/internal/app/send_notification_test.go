package app_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/outbox"
	"github.com/latchkey/latchkey/libs/testkit"
	"github.com/latchkey/latchkey/services/notification/internal/app"
	"github.com/latchkey/latchkey/services/notification/internal/delivery"
	"github.com/latchkey/latchkey/services/notification/internal/store"
	"github.com/latchkey/latchkey/services/notification/internal/store/sqlstore"
)

// gatedStore holds the transaction that inserts request "first" until
// open is closed, fails the insert of request "bad", and notes the most
// inserts one transaction made.
type gatedStore struct {
	store.Store
	open    chan struct{}
	mu      sync.Mutex
	mostPer int
}

func (g *gatedStore) InTx(ctx context.Context, fn func(tx store.Tx) error) error {
	tx := &gatedTx{g: g}
	err := g.Store.InTx(ctx, func(stx store.Tx) error {
		tx.Tx = stx
		return fn(tx)
	})
	g.mu.Lock()
	g.mostPer = max(g.mostPer, tx.n)
	g.mu.Unlock()
	return err
}

type gatedTx struct {
	store.Tx
	g *gatedStore
	n int
}

func (t *gatedTx) Insert(ctx context.Context, d *delivery.Delivery) (*delivery.Delivery, bool, error) {
	t.n++
	switch d.RequestID {
	case "first":
		<-t.g.open
	case "bad":
		return nil, false, errors.New("bad request")
	}
	return t.Tx.Insert(ctx, d)
}

// Requests that arrive while one is being stored are stored together; one
// that fails does not fail the others, and a repeated request id returns
// the first delivery even within one transaction.
func TestSendNotification_ConcurrentRequestsStoredTogetherEachWithItsOwnResult(t *testing.T) {
	const tenant = "0193a000-0000-7000-8000-000000000001"
	testkit.EachMigratedDialect(t, "notification", sqlstore.Migrate, func(t *testing.T, db dbx.DB) {
		ctx := context.Background()
		st := &gatedStore{Store: sqlstore.New(db, outbox.New(db, clock.System{}, "notification")), open: make(chan struct{})}
		use := app.New(st, clock.System{}, nil, senderFunc(nil), app.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		send := func(requestID string) (*delivery.Delivery, error) {
			return use.SendNotification(ctx, delivery.Request{
				RequestID: requestID, TenantID: tenant, Template: delivery.PasswordChanged, RecipientAddress: "a@example.com",
			})
		}
		ids := []string{"r0", "r1", "bad", "r1", "r2", "r0", "r3"}
		got := make([]*delivery.Delivery, len(ids))
		errs := make([]error, len(ids))
		var wg sync.WaitGroup
		wg.Go(func() {
			if _, err := send("first"); err != nil {
				t.Error(err)
			}
		})
		time.Sleep(50 * time.Millisecond) // "first" holds the store
		// "bad" comes last: a batch stops at its failing request, and one
		// that came first would leave nothing stored together to see.
		for i, id := range ids {
			if id != "bad" {
				wg.Go(func() { got[i], errs[i] = send(id) })
			}
		}
		time.Sleep(50 * time.Millisecond)
		bad := slices.Index(ids, "bad")
		wg.Go(func() { got[bad], errs[bad] = send("bad") })
		time.Sleep(200 * time.Millisecond) // the others wait for it
		close(st.open)
		wg.Wait()
		byRequest := map[string]string{}
		for i, id := range ids {
			if id == "bad" {
				if errs[i] == nil {
					t.Errorf("request bad: no error")
				}
				continue
			}
			if errs[i] != nil || got[i] == nil || got[i].RequestID != id {
				t.Fatalf("request %s: %+v, %v", id, got[i], errs[i])
			}
			if first, ok := byRequest[id]; ok && first != got[i].ID {
				t.Errorf("request %s: deliveries %s and %s, want one", id, first, got[i].ID)
			}
			byRequest[id] = got[i].ID
			if stored, err := st.Get(ctx, got[i].ID); err != nil || stored.Status != delivery.Queued {
				t.Errorf("request %s: stored %+v, %v", id, stored, err)
			}
		}
		if st.mostPer < 2 {
			t.Errorf("at most %d insert per transaction; want the waiting requests together", st.mostPer)
		}
		if c, _ := st.Counts(ctx); c[delivery.Queued] != 5 {
			t.Errorf("counts %v, want 5 queued (first, r0..r3)", c)
		}
	})
}
