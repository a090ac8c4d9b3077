package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/latchkey/latchkey/libs/clock"
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
	if at := a.attempt(ctx, d); at != nil {
		a.record(ctx, []*attempt{at})
	}
}

// attempt is one attempt to deliver, ended and waiting to be recorded.
type attempt struct {
	d       *delivery.Delivery
	outcome delivery.Outcome
	err     error
	// stopping is whether the service was stopping when it ended.
	stopping bool
}

// attempt prepares and sends d; nil means there is nothing to record
// (rate limited, or taken over by another worker).
func (a *App) attempt(ctx context.Context, d *delivery.Delivery) *attempt {
	env, fail := a.prepare(ctx, d)
	if env == nil && fail == nil {
		return nil
	}
	at := &attempt{d: d, outcome: delivery.Permanent}
	if fail != nil {
		at.outcome, at.err = fail.outcome, fail.err
	} else {
		at.err = a.sender.Send(ctx, env)
		at.outcome = mailer.Classify(at.err)
	}
	at.stopping = ctx.Err() != nil
	return at
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
	// A request naming the recipient in full is sent as it says: the
	// look-up (a call to the account service and a read there for every
	// e-mail) would only add the account's locale.
	if d.AccountID != "" && a.dir != nil && (address == "" || name == "") {
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
	if l := a.opts.Limits; l.Window <= 0 || (l.PerRecipient <= 0 && l.PerTenant <= 0) {
		// Nothing to check: the admission is stored with the outcome
		// (Finish), not in a write transaction of its own.
		now := a.clock.Now()
		d.AdmittedAt, d.RecipientAddress = &now, address
		return true, nil
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

// record stores the outcomes of attempts, and for each end (SENT, FAILED)
// its event, in one transaction stamped with one time: a write
// transaction per message is what limits the rate (on SQLite the only
// writer), so the worker records the attempts that ended together. A
// message is recorded SENT only after the SMTP server accepted it; if the
// transaction fails, each attempt is recorded alone, so that one cannot
// hold up the others. While the database is out of reach it keeps trying
// (patiently): an outcome not stored before the lease runs out means the
// message is sent again.
func (a *App) record(ctx context.Context, batch []*attempt) {
	// The outcomes must be stored even when the service is told to stop
	// while they are being written: a stop cuts short only the waits
	// between tries (patiently), never a write under way.
	write := context.WithoutCancel(ctx)
	results := make([]store.Result, len(batch))
	taken := make([]bool, len(batch))
	ferr := a.patiently(ctx, func() error {
		return a.store.InTx(write, func(tx store.Tx) error {
			now := a.clock.Now()
			for i, at := range batch {
				d := at.d
				results[i] = a.result(d, at.outcome, at.err, at.stopping, now)
				ok, err := tx.Finish(write, d, results[i], now)
				if err != nil {
					return err
				}
				if taken[i] = !ok; !ok {
					continue
				}
				switch results[i].Status {
				case delivery.Sent:
					err = tx.Emit(write, events.NotificationSent(d, now))
				case delivery.Failed:
					err = tx.Emit(write, events.NotificationFailed(d, now))
				}
				if err != nil {
					return err
				}
			}
			return nil
		})
	})
	if ferr != nil && len(batch) > 1 && !errs.Is(ferr, errs.KindUnavailable) {
		for _, at := range batch {
			a.record(ctx, []*attempt{at})
		}
		return
	}
	for i, at := range batch {
		a.report(at, results[i], taken[i], ferr)
	}
}

// patiently runs fn again while it fails because the database is out of
// reach (a restart, a failover), for up to half the lease: the messages
// whose outcomes it stores went out already, and once their lease runs out
// another attempt sends them a second time. Other errors return at once.
func (a *App) patiently(ctx context.Context, fn func() error) error {
	deadline := time.Now().Add(a.opts.Lease / 2)
	wait := 50 * time.Millisecond
	for {
		err := fn()
		if err == nil || !errs.Is(err, errs.KindUnavailable) || time.Now().Add(wait).After(deadline) {
			return err
		}
		if !clock.Wait(ctx, wait, nil) {
			return err
		}
		wait = min(2*wait, time.Second)
	}
}

// report counts and logs the outcome r of at: recorded unless ferr, or
// taken over by another worker.
func (a *App) report(at *attempt, r store.Result, taken bool, ferr error) {
	if ferr == nil && !taken {
		a.opts.Metrics.attempted(r.Status)
	}
	d := at.d
	log := a.log.With("delivery_id", d.ID, "tenant_id", d.TenantID, "template", d.Template, "attempt", d.Attempts)
	switch {
	case ferr != nil:
		// The lease runs out and the delivery is attempted again.
		log.Error("notification: recording the outcome failed", "status", r.Status, "err", ferr)
	case taken:
		log.Warn("notification: delivery was taken over by another worker", "status", r.Status)
	case r.Status == delivery.Failed:
		log.Error("notification: delivery failed", "err", r.Error)
	case r.Status == delivery.Sent:
		log.Info("notification: sent")
	case r.Status == delivery.Retrying && !at.stopping:
		log.Warn("notification: temporary failure; will retry", "err", at.err, "retry_at", r.NextAttemptAt)
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
