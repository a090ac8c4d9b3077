// Package app holds the notification service's use cases, one per file:
// accept a request for an e-mail (store it first), a security notice for an
// event, report a delivery, and the worker that renders and sends stored
// deliveries with retries. Every change is made in one store transaction
// together with its event, stamped with a time taken inside it.
package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/services/notification/internal/delivery"
	"github.com/latchkey/latchkey/services/notification/internal/mailer"
	"github.com/latchkey/latchkey/services/notification/internal/store"
)

// Tenant is what the notification service needs of a tenant.
type Tenant struct {
	ID, Code, Name string
	// BrandName, FromAddress, LinkBaseURL and Locale come from the tenant
	// policy ("" = the service's defaults).
	BrandName, FromAddress, LinkBaseURL, Locale string
}

// Account is what the notification service needs of an account.
type Account struct {
	ID, Email, DisplayName, Locale string
}

// Directory answers who and what (the account service).
type Directory interface {
	// Tenant returns a tenant; errs NotFound when there is none.
	Tenant(ctx context.Context, tenantID string) (*Tenant, error)
	// Account returns an account of the tenant; errs NotFound when none.
	Account(ctx context.Context, tenantID, accountID string) (*Account, error)
}

// Options are the service's settings for the use cases.
type Options struct {
	// From is the sender address when the tenant policy has none.
	From string
	// FromName is the sender's name when the tenant has no brand name.
	FromName string
	// LinkBaseURL is where links point when the tenant policy has no base.
	LinkBaseURL string
	// Retry says how temporary failures are retried.
	Retry delivery.Retry
	// Limits are the rate limits.
	Limits store.Limits
	// Lease is how long a worker holds a delivery it is sending (default
	// 2m). A worker that dies mid-delivery delays it by at most this long.
	Lease time.Duration
	// Workers is how many deliveries are sent at once (default 4).
	Workers int
	// Poll is the longest the worker sleeps without a wake-up (default 1s).
	Poll time.Duration
	// Keep is how long ended deliveries stay queryable (default 30 days).
	Keep time.Duration
	// Jitter returns a number in [0, 1) for the backoff (nil: random).
	Jitter func() float64
	Logger *slog.Logger
	// Metrics count the delivery attempts (nil: not counted).
	Metrics *Metrics
}

// App is the notification service's use cases.
type App struct {
	store  store.Store
	clock  clock.Clock
	dir    Directory
	sender mailer.Sender
	opts   Options
	log    *slog.Logger
	wake   chan struct{}
	// enqueue gathers concurrent SendNotification calls into one
	// transaction.
	enqueue enqueuer
}

// New returns the use cases over the store st; dir may be nil where no
// account service runs (requests must then name their recipient, and
// e-mail has the default branding).
func New(st store.Store, clk clock.Clock, dir Directory, sender mailer.Sender, opts Options) *App {
	opts.Retry = opts.Retry.WithDefaults()
	if opts.Lease <= 0 {
		opts.Lease = 2 * time.Minute
	}
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.From == "" {
		opts.From = "latchkey@localhost"
	}
	return &App{store: st, clock: clk, dir: dir, sender: sender, opts: opts, log: opts.Logger, wake: make(chan struct{}, 1)}
}

// Wake tells the worker there may be something to send now.
func (a *App) Wake() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}
