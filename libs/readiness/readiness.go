// Package readiness says whether a process can serve: it probes what the
// process cannot work without (its database, the peers it must call) and
// what it only rides out (NATS, which the outbox waits for), and reports
// the first as unready and the second as degraded. One report feeds the
// gRPC health status, the management listener's /readyz and metrics, and
// is kept for a second, so probes from many places cost one check.
package readiness

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// Check is one dependency.
type Check struct {
	// Name is what reports call it: "database", a peer's name, "nats".
	Name string
	// Probe returns nil while the dependency works. It must give up when
	// ctx ends.
	Probe func(ctx context.Context) error
	// Optional marks a dependency the process rides out: while it fails,
	// the process is degraded (reported, counted) but still ready.
	Optional bool
}

// Report is the outcome of the checks, also the management /readyz body.
type Report struct {
	// Status is "ok", "degraded" (ready, an optional dependency down) or
	// "unavailable" (not ready).
	Status string `json:"status"`
	// Failed names the required dependencies that failed; Degraded the
	// optional ones. Why goes to the log: the names are enough to act on.
	Failed   []string `json:"failed,omitempty"`
	Degraded []string `json:"degraded,omitempty"`
}

// Ready reports whether every required dependency works.
func (r Report) Ready() bool { return len(r.Failed) == 0 }

// Works reports whether the dependency called name worked.
func (r Report) Works(name string) bool {
	return !slices.Contains(r.Failed, name) && !slices.Contains(r.Degraded, name)
}

// Defaults of a Checker.
const (
	// DefaultTimeout bounds one round of checks: Kubernetes' default probe
	// timeout is 1s, past which the answer is not read anyway.
	DefaultTimeout = 900 * time.Millisecond
	// DefaultReuse is how long a report answers every asker before the
	// checks run again: a burst of probes (kubelet, gateways, /readyz
	// callers) costs one round.
	DefaultReuse = time.Second
	// unreadyReuse is the shorter reuse of a not-ready report, so that a
	// process starting up, or coming back, is seen ready soon after it is.
	unreadyReuse = DefaultReuse / 4
)

// Checker runs checks and keeps the report for a while.
type Checker struct {
	checks  []Check
	log     *slog.Logger
	timeout time.Duration
	reuse   time.Duration

	mu   sync.Mutex // held while checking: askers meanwhile wait for its report
	last Report
	at   time.Time
	// wasReady is set once a report was ready: until then, peers still
	// starting are the normal course of a start, not an alarm.
	wasReady bool
}

// New returns a Checker of checks that logs failures to log (nil: the
// default logger).
func New(log *slog.Logger, checks ...Check) *Checker {
	if log == nil {
		log = slog.Default()
	}
	return &Checker{checks: checks, log: log, timeout: DefaultTimeout, reuse: DefaultReuse}
}

// Add adds checks; call it before the first Check.
func (c *Checker) Add(checks ...Check) { c.checks = append(c.checks, checks...) }

// Check returns the report, running the checks (all at once, bounded by
// the timeout) unless the last report is recent enough.
func (c *Checker) Check(ctx context.Context) Report {
	c.mu.Lock()
	defer c.mu.Unlock()
	reuse := c.reuse
	if !c.last.Ready() {
		reuse = min(reuse, unreadyReuse)
	}
	if !c.at.IsZero() && time.Since(c.at) < reuse {
		return c.last
	}
	c.last = c.run(ctx)
	c.at = time.Now()
	c.wasReady = c.wasReady || c.last.Ready()
	return c.last
}

func (c *Checker) run(ctx context.Context) Report {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	errs := make([]error, len(c.checks))
	var wg sync.WaitGroup
	for i, ch := range c.checks {
		wg.Go(func() { errs[i] = ch.Probe(ctx) })
	}
	wg.Wait()
	r := Report{Status: "ok"}
	// A suite starts its services in any order: a peer not serving yet
	// at start is told at INFO; losing one once ready is a WARN.
	lost := slog.LevelInfo
	if c.wasReady {
		lost = slog.LevelWarn
	}
	for i, ch := range c.checks {
		// Logged when the state changes, not at every round of an outage.
		worked := c.at.IsZero() || c.last.Works(ch.Name)
		switch {
		case errs[i] == nil:
			if !worked {
				c.log.InfoContext(ctx, "dependency back", "dependency", ch.Name)
			}
		case ch.Optional:
			if worked {
				c.log.Log(ctx, lost, "degraded", "dependency", ch.Name, "error", errs[i].Error())
			}
			r.Degraded = append(r.Degraded, ch.Name)
		default:
			if worked {
				c.log.Log(ctx, lost, "not ready", "dependency", ch.Name, "error", errs[i].Error())
			}
			r.Failed = append(r.Failed, ch.Name)
		}
	}
	slices.Sort(r.Failed)
	slices.Sort(r.Degraded)
	switch {
	case len(r.Failed) > 0:
		r.Status = "unavailable"
	case len(r.Degraded) > 0:
		r.Status = "degraded"
	}
	return r
}

// Handler answers the management listener's /readyz: the report as JSON,
// 200 while ready (degraded included), 503 when not.
func (c *Checker) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteReport(w, c.Check(r.Context()))
	})
}

// WriteReport writes r as the management /readyz answer.
func WriteReport(w http.ResponseWriter, r Report) {
	code := http.StatusOK
	if !r.Ready() {
		code = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(r)
}

// Follow checks every interval (more often while not ready) until ctx
// ends and hands each report to set (e.g. to turn gRPC health statuses),
// the first at once.
func (c *Checker) Follow(ctx context.Context, every time.Duration, set func(Report)) {
	for {
		r := c.Check(ctx)
		set(r)
		wait := every
		if !r.Ready() {
			wait = min(every, unreadyReuse)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// SelfService is the gRPC health service name under which a Latchkey
// service reports its own dependencies alone (its database), whatever its
// peers say. A service asks its peers for this status, not for their
// overall one (""), which covers their own peers: readiness then never
// chases itself round a ring of services that call each other.
const SelfService = "latchkey.self"

// Health is a probe of a gRPC server's health status for service ("" for
// the whole server, SelfService for a Latchkey service's own state): it
// fails unless the answer is SERVING, and when the server cannot be
// reached (which covers mutual TLS and network policy refusing the way).
func Health(conn grpc.ClientConnInterface, service string) func(ctx context.Context) error {
	client := healthpb.NewHealthClient(conn)
	return func(ctx context.Context) error {
		resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: service})
		if err != nil {
			return err
		}
		if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			return notServing(resp.GetStatus())
		}
		return nil
	}
}

// notServing is a server that answered but is not serving.
type notServing healthpb.HealthCheckResponse_ServingStatus

func (e notServing) Error() string {
	return "health status " + healthpb.HealthCheckResponse_ServingStatus(e).String()
}
