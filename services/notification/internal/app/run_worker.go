package app

import (
	"context"
	"sync"
	"time"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/services/notification/internal/delivery"
)

// RunWorker sends due deliveries until ctx is cancelled, Workers at once.
// The workers take deliveries from a queue of 2 × Workers more, which the
// loop tops up by claiming once half of it is free: a slow message holds
// up only its own worker, never a whole batch, and a busy service claims
// several deliveries at a time rather than one per message (a claim is a
// write, and on SQLite the only writer); for the same reason a wake-up
// waits gather for the requests committed with it. A queued delivery
// waits at most two sends before it starts, inside its lease. The
// outcomes go to one recorder, which records those that ended together in
// one transaction (see record). Failures to
// reach the database are logged and retried, never returned. It returns
// once the deliveries claimed are recorded.
func (a *App) RunWorker(ctx context.Context) error {
	queue := make(chan *delivery.Delivery, 2*a.opts.Workers)
	taken := make(chan struct{}, 1)
	ended := make(chan *attempt, 4*a.opts.Workers)
	recorded := make(chan struct{})
	go func() {
		defer close(recorded)
		a.recordEnded(ctx, ended)
	}()
	var wg sync.WaitGroup
	for range a.opts.Workers {
		wg.Go(func() {
			for d := range queue {
				signal(taken)
				if at := a.attempt(ctx, d); at != nil {
					ended <- at
				}
			}
		})
	}
	defer func() {
		close(queue)
		wg.Wait()
		close(ended)
		<-recorded
	}()
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
		if room := cap(queue) - len(queue); room < max(1, cap(queue)/2) {
			select {
			case <-taken:
				continue
			case <-ctx.Done():
				return nil
			}
		}
		batch, err := a.store.Claim(ctx, a.clock.Now(), a.opts.Lease, cap(queue)-len(queue))
		for _, d := range batch {
			queue <- d // there is room: only this loop fills it
		}
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			backoff = min(max(2*backoff, 100*time.Millisecond), 10*time.Second)
			a.log.Warn("notification worker: claim failed; retrying", "err", err, "retry_in", backoff)
			if !clock.Wait(ctx, backoff, nil) {
				return nil
			}
			continue
		}
		backoff = 0
		if len(batch) > 0 {
			continue
		}
		if !clock.Wait(ctx, a.opts.Poll, a.wake) || !clock.Wait(ctx, gather, nil) {
			return nil
		}
	}
}

// recordEnded records the attempts that ended, those that ended while
// the last were being recorded together, until ended is closed.
func (a *App) recordEnded(ctx context.Context, ended <-chan *attempt) {
	for at := range ended {
		batch := []*attempt{at}
	more:
		for len(batch) < maxRecord {
			select {
			case at, ok := <-ended:
				if !ok {
					break more
				}
				batch = append(batch, at)
			default:
				break more
			}
		}
		a.record(ctx, batch)
	}
}

// maxRecord bounds the attempts recorded in one transaction, which holds
// the database's only writer on SQLite.
const maxRecord = 64

// gather is how long the worker, woken, lets other requests commit before
// it claims: an e-mail a millisecond later is no worse, and a burst of
// requests is then claimed in a few statements, not one each.
const gather = 2 * time.Millisecond

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
