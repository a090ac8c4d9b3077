package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/services/notification/internal/delivery"
	"github.com/latchkey/latchkey/services/notification/internal/events"
	"github.com/latchkey/latchkey/services/notification/internal/mailer"
	"github.com/latchkey/latchkey/services/notification/internal/store"
	"github.com/latchkey/latchkey/services/notification/internal/templates"
)

// DeliverDue claims the deliveries due now, sends them (Workers at once)
// and records each outcome; it returns how many it claimed.
func (a *App) DeliverDue(ctx context.Context) (int, error) {
	batch, err := a.store.Claim(ctx, a.clock.Now(), a.opts.Lease, a.opts.Workers*4)
	if err != nil {
		return 0, err
	}
	sem := make(chan struct{}, a.opts.Workers)
	var wg sync.WaitGroup
	for _, d := range batch {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			a.deliver(ctx, d)
		})
	}
	wg.Wait()
	return len(batch), nil
}

// failure is an attempt that did not get as far as the SMTP server.
type failure struct {
	outcome delivery.Outcome
	err     error
}

func (a *App) deliver(ctx context.Context, d *delivery.Delivery) {
	env, fail := a.prepare(ctx, d)
	if env == nil && fail == nil {
		return // rate limited, or taken over by another worker
	}
	var err error
	outcome := delivery.Permanent
	if fail != nil {
		outcome, err = fail.outcome, fail.err
	} else {
		err = a.sender.Send(ctx, env)
		outcome = mailer.Classify(err)
	}
	a.record(ctx, d, outcome, err)
}

// prepare finds the recipient and the tenant's branding, applies the rate
// limits and renders the message.
func (a *App) prepare(ctx context.Context, d *delivery.Delivery) (*mailer.Envelope, *failure) {
	tenant := &Tenant{ID: d.TenantID}
	if a.dir != nil {
		t, err := a.dir.Tenant(ctx, d.TenantID)
		switch {
		case errs.Is(err, errs.KindNotFound):
			return nil, &failure{delivery.Permanent, errors.New("tenant not found")}
		case err != nil:
			return nil, &failure{delivery.Temporary, fmt.Errorf("tenant policy: %w", err)}
		}
		tenant = t
	}
	address, name, locale := d.RecipientAddress, d.RecipientName, d.Locale
	accountLocale := ""
	if d.AccountID != "" && a.dir != nil && (address == "" || name == "" || locale == "") {
		acct, err := a.dir.Account(ctx, d.TenantID, d.AccountID)
		switch {
		case err == nil:
			if address == "" {
				address = acct.Email
			}
			if name == "" {
				name = acct.DisplayName
			}
			accountLocale = acct.Locale
		case address != "":
			// The request said where to send it; the name and locale
			// are only nicer with the account's.
			a.log.Warn("notification worker: account lookup failed; sending without it", "delivery_id", d.ID, "err", err)
		case errs.Is(err, errs.KindNotFound):
			return nil, &failure{delivery.Permanent, errors.New("account not found")}
		default:
			return nil, &failure{delivery.Temporary, fmt.Errorf("account lookup: %w", err)}
		}
	}
	if address == "" {
		return nil, &failure{delivery.Permanent, errors.New("the account has no e-mail address")}
	}
	ok, err := a.admit(ctx, d, address)
	if err != nil {
		return nil, &failure{delivery.Temporary, fmt.Errorf("rate limits: %w", err)}
	}
	if !ok {
		if d.Status == delivery.RateLimited {
			a.opts.Metrics.attempted(delivery.RateLimited)
			a.log.Info("notification: rate limited", "delivery_id", d.ID, "tenant_id", d.TenantID, "template", d.Template, "reason", d.LastError)
		}
		return nil, nil
	}
	base := tenant.LinkBaseURL
	if base == "" {
		base = a.opts.LinkBaseURL
	}
	brand := tenant.BrandName
	if brand == "" {
		brand = tenant.Name
	}
	msg, err := templates.Render(templates.Input{
		Template:    d.Template,
		Locale:      templates.Choose(locale, accountLocale, tenant.Locale),
		Brand:       templates.Brand{Name: brand, CompanyCode: tenant.Code, LinkBaseURL: base},
		DisplayName: name, Variables: d.Variables,
	})
	if err != nil {
		return nil, &failure{delivery.Permanent, err}
	}
	from := tenant.FromAddress
	if from == "" {
		from = a.opts.From
	}
	fromName := brand
	if fromName == "" {
		fromName = a.opts.FromName
	}
	_, domain, _ := strings.Cut(from, "@")
	if domain == "" {
		domain = "latchkey"
	}
	return &mailer.Envelope{
		MessageID: d.ID + "@" + domain, From: from, FromName: fromName, To: address, ToName: name,
		Date: d.CreatedAt, Message: msg,
	}, nil
}

// admit applies the rate limits before the first attempt to address; a
// delivery over them ends RATE_LIMITED with its NotificationFailed event,
// both stamped with one time taken inside the transaction.
func (a *App) admit(ctx context.Context, d *delivery.Delivery, address string) (bool, error) {
	if d.AdmittedAt != nil {
		return true, nil // a retry: counted at its first attempt
	}
	ok := false
	err := a.store.InTx(ctx, func(tx store.Tx) error {
		now := a.clock.Now()
		var err error
		ok, err = tx.Admit(ctx, d, address, now, a.opts.Limits)
		if err != nil || ok || d.Status != delivery.RateLimited {
			return err
		}
		return tx.Emit(ctx, events.NotificationFailed(d, now))
	})
	return ok && err == nil, err
}

// record stores the outcome of the attempt d.Attempts, and for an end
// (SENT, FAILED) its event, in one transaction stamped with one time.
func (a *App) record(ctx context.Context, d *delivery.Delivery, outcome delivery.Outcome, err error) {
	stopping := ctx.Err() != nil
	if stopping {
		// The outcome must still be stored while the service stops.
		ctx = context.WithoutCancel(ctx)
	}
	log := a.log.With("delivery_id", d.ID, "tenant_id", d.TenantID, "template", d.Template, "attempt", d.Attempts)
	var (
		r  store.Result
		ok bool
	)
	ferr := a.store.InTx(ctx, func(tx store.Tx) error {
		now := a.clock.Now()
		r = a.result(d, outcome, err, stopping, now)
		var err error
		if ok, err = tx.Finish(ctx, d, r, now); err != nil || !ok {
			return err
		}
		switch r.Status {
		case delivery.Sent:
			return tx.Emit(ctx, events.NotificationSent(d, now))
		case delivery.Failed:
			return tx.Emit(ctx, events.NotificationFailed(d, now))
		}
		return nil
	})
	if ferr == nil && ok {
		a.opts.Metrics.attempted(r.Status)
	}
	switch {
	case ferr != nil:
		// The lease runs out and the delivery is attempted again.
		log.Error("notification: recording the outcome failed", "status", r.Status, "err", ferr)
	case !ok:
		log.Warn("notification: delivery was taken over by another worker", "status", r.Status)
	case r.Status == delivery.Failed:
		log.Error("notification: delivery failed", "err", r.Error)
	case r.Status == delivery.Sent:
		log.Info("notification: sent")
	case r.Status == delivery.Retrying && !stopping:
		log.Warn("notification: temporary failure; will retry", "err", err, "retry_at", r.NextAttemptAt)
	}
}

// result decides what an attempt that ended with outcome (and err) at now
// leaves the delivery in.
func (a *App) result(d *delivery.Delivery, outcome delivery.Outcome, err error, stopping bool, now time.Time) store.Result {
	switch outcome {
	case delivery.Temporary:
		switch {
		case stopping:
			// Hand it back, due at once, for the next start (or another
			// replica) rather than waiting for the lease.
			return store.Result{Status: delivery.Retrying, Error: err.Error(), NextAttemptAt: now}
		case d.Attempts >= a.opts.Retry.MaxAttempts:
			return store.Result{Status: delivery.Failed, Error: fmt.Sprintf("gave up after %d attempts: %v", d.Attempts, err)}
		default:
			return store.Result{Status: delivery.Retrying, Error: err.Error(),
				NextAttemptAt: now.Add(a.opts.Retry.Backoff(d.Attempts, a.opts.Jitter))}
		}
	case delivery.Permanent:
		return store.Result{Status: delivery.Failed, Error: err.Error()}
	}
	return store.Result{Status: delivery.Sent}
}
