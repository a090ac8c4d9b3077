package bench

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// sample is what one phase of load measured: how many calls succeeded in
// the measured window, how many failed, and the latency of each success.
type sample struct {
	ok, failed int
	elapsed    time.Duration
	lats       []time.Duration // sorted
	firstErr   error
}

// rate is successful calls per second over the measured window.
func (s sample) rate() float64 {
	if s.elapsed <= 0 {
		return 0
	}
	return float64(s.ok) / s.elapsed.Seconds()
}

// merge is s and o as one sample: their calls, time and latencies added.
func (s sample) merge(o sample) sample {
	lats := append(slices.Clone(s.lats), o.lats...)
	slices.Sort(lats)
	return sample{ok: s.ok + o.ok, failed: s.failed + o.failed, elapsed: s.elapsed + o.elapsed, lats: lats,
		firstErr: cmp.Or(s.firstErr, o.firstErr)}
}

// pct is the p-th percentile (0–100) of the latencies, nearest rank.
func (s sample) pct(p float64) time.Duration { return percentile(s.lats, p) }

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// load runs op from callers goroutines for warmup+measure and returns what
// the measure part saw: calls that started during the warm-up are not
// counted, so connection set-up and the first cold cache do not weigh on
// the figures. A progress line (rate so far, errors) is rewritten on
// progress once a second. op gets the caller's number, so that callers can
// keep state of their own (an account, a refresh token).
func load(ctx context.Context, progress io.Writer, name string, callers int, warmup, measure time.Duration,
	op func(ctx context.Context, caller int) error) sample {
	start := time.Now()
	from, until := start.Add(warmup), start.Add(warmup+measure)
	ctx, cancel := context.WithDeadline(ctx, until.Add(30*time.Second)) // a call stuck past the end does not hold the bench
	defer cancel()
	var (
		okN, failN atomic.Int64
		mu         sync.Mutex
		all        []time.Duration
		firstErr   error
		wg         sync.WaitGroup
	)
	for c := range callers {
		wg.Go(func() {
			var mine []time.Duration
			for {
				t0 := time.Now()
				if !t0.Before(until) || ctx.Err() != nil {
					break
				}
				err := op(ctx, c)
				if t0.Before(from) {
					continue
				}
				if err != nil {
					failN.Add(1)
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					continue
				}
				okN.Add(1)
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		})
	}
	stop := showProgress(progress, name, func() (int64, int64, time.Duration) {
		return okN.Load(), failN.Load(), time.Since(from)
	})
	wg.Wait()
	stop()
	slices.Sort(all)
	return sample{ok: int(okN.Load()), failed: int(failN.Load()), elapsed: min(time.Since(from), measure), lats: all, firstErr: firstErr}
}

// showProgress rewrites one line on w every second with the rate so far
// and the errors, until the returned function is called.
func showProgress(w io.Writer, name string, counts func() (ok, failed int64, elapsed time.Duration)) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				fmt.Fprintf(w, "\r\033[K")
				return
			case <-t.C:
				ok, failed, el := counts()
				if el <= 0 {
					fmt.Fprintf(w, "\r\033[K%s: warming up", name)
					continue
				}
				fmt.Fprintf(w, "\r\033[K%s: %.1f/s so far, %d errors", name, float64(ok)/el.Seconds(), failed)
			}
		}
	})
	return func() { close(done); wg.Wait() }
}
