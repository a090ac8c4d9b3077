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
	"github.com/latchkey/latchkey/services/notification/internal/mailer"
	"github.com/latchkey/latchkey/services/notification/internal/store"
	"github.com/latchkey/latchkey/services/notification/internal/templates"
)

// RunWorker sends due deliveries until ctx is cancelled. Failures to reach
// the database are logged and retried, never returned.
func (a *App) RunWorker(ctx context.Context) error {
	backoff := time.Duration(0)
	var pruned time.Time
	for {
		if now := a.clock.Now(); now.Sub(pruned) >= time.Hour {
			pruned = now
			keep := a.opts.Keep
			if keep <= 0 {
				keep = 30 * 24 * time.Hour
			}
			if _, err := a.store.Prune(ctx, now.Add(-keep)); err != nil && ctx.Err() == nil {
				a.log.Warn("notification worker: prune failed", "err", err)
			}
		}
		n, err := a.ProcessDue(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			backoff = min(max(2*backoff, 100*time.Millisecond), 10*time.Second)
			a.log.Warn("notification worker: claim failed; retrying", "err", err, "retry_in", backoff)
			if !sleep(ctx, backoff, nil) {
				return nil
			}
			continue
		}
		backoff = 0
		if n > 0 {
			continue
		}
		if !sleep(ctx, a.opts.Poll, a.wake) {
			return nil
		}
	}
}

// ProcessDue claims the deliveries due now, sends them (Workers at once)
// and records each outcome; it returns how many it claimed.
func (a *App) ProcessDue(ctx context.Context) (int, error) {
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
	ok, err := a.store.Admit(ctx, d, address, a.clock.Now(), a.opts.Limits)
	if err != nil {
		return nil, &failure{delivery.Temporary, fmt.Errorf("rate limits: %w", err)}
	}
	if !ok {
		if d.Status == delivery.RateLimited {
			a.log.Warn("notification: rate limited", "delivery_id", d.ID, "tenant_id", d.TenantID, "template", d.Template, "reason", d.LastError)
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

// record stores the outcome of the attempt d.Attempts.
func (a *App) record(ctx context.Context, d *delivery.Delivery, outcome delivery.Outcome, err error) {
	now := a.clock.Now()
	r := store.Result{Status: delivery.Sent}
	log := a.log.With("delivery_id", d.ID, "tenant_id", d.TenantID, "template", d.Template, "attempt", d.Attempts)
	switch outcome {
	case delivery.Temporary:
		r.Error = err.Error()
		switch {
		case ctx.Err() != nil:
			// Stopping: hand it back, due at once, for the next start
			// (or another replica) rather than waiting for the lease.
			r.Status, r.NextAttemptAt = delivery.Retrying, now
			ctx = context.WithoutCancel(ctx)
		case d.Attempts >= a.opts.Retry.MaxAttempts:
			r.Status, r.Error = delivery.Failed, fmt.Sprintf("gave up after %d attempts: %v", d.Attempts, err)
		default:
			wait := a.opts.Retry.Backoff(d.Attempts, a.opts.Jitter)
			r.Status, r.NextAttemptAt = delivery.Retrying, now.Add(wait)
			log.Warn("notification: temporary failure; will retry", "err", err, "retry_in", wait)
		}
	case delivery.Permanent:
		r.Status, r.Error = delivery.Failed, err.Error()
	}
	ok, ferr := a.store.Finish(ctx, d, r, now)
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
	}
}

func sleep(ctx context.Context, d time.Duration, wake <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case <-wake:
	}
	return true
}
