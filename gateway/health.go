package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/latchkey/latchkey/libs/readiness"
)

// readyCheck answers /readyz. The gateway is ready while every backend
// reports SERVING, which a Latchkey service does only while its own
// database and the peers it requires answer: a gateway whose services
// cannot reach their database or each other is not ready. NATS is not
// required (the services' outboxes ride an outage out): its loss is
// reported as degraded.
type readyCheck struct {
	checks *readiness.Checker
	// draining is set once Serve begins to stop, so that load balancers
	// stop sending new requests while in-flight ones finish. It bypasses
	// the reuse of the last report.
	draining *atomic.Bool
}

// checkShutdown is the failure reported while the gateway stops.
const checkShutdown = "shutdown"

// checkNATS names NATS in the report.
const checkNATS = "nats"

// newReadyCheck checks every backend's overall health ("") and, when nats
// is set, NATS as optional.
func newReadyCheck(conns map[backend]*grpc.ClientConn, nats func(context.Context) error, draining *atomic.Bool, log *slog.Logger) *readyCheck {
	checks := readiness.New(log)
	for name, conn := range conns {
		checks.Add(readiness.Check{Name: string(name), Probe: readiness.Health(conn, "")})
	}
	if nats != nil {
		checks.Add(readiness.Check{Name: checkNATS, Probe: nats, Optional: true})
	}
	return &readyCheck{checks: checks, draining: draining}
}

// report is the current readiness report.
func (rd *readyCheck) report(ctx context.Context) readiness.Report {
	if rd.draining != nil && rd.draining.Load() {
		return readiness.Report{Status: "unavailable", Failed: []string{checkShutdown}}
	}
	return rd.checks.Check(ctx)
}

// ServeHTTP answers the public /readyz: 200 "ready" when every dependency
// is ready, else 503 "not ready", and nothing more: anyone can ask, and
// which service is down is no business of theirs (the management listener
// says, see details).
func (rd *readyCheck) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if !rd.report(r.Context()).Ready() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("not ready\n"))
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

// details answers the management listener's /readyz: the same report,
// naming what failed (a backend, "shutdown") and what is degraded
// ("nats").
func (rd *readyCheck) details() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		readiness.WriteReport(w, rd.report(r.Context()))
	})
}

// follow keeps the gateway's own gRPC health ("") in step with its
// readiness until ctx ends.
func (rd *readyCheck) follow(ctx context.Context, h *health.Server) {
	rd.checks.Follow(ctx, time.Second, func(r readiness.Report) {
		status := healthpb.HealthCheckResponse_SERVING
		if !r.Ready() {
			status = healthpb.HealthCheckResponse_NOT_SERVING
		}
		h.SetServingStatus("", status)
	})
}

// healthz answers /healthz: the process is up and serving HTTP, nothing more,
// so a slow backend never gets the gateway restarted.
func healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
}
