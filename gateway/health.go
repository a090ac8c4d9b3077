package gateway

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// readyTimeout bounds one readiness probe; Kubernetes' default probe
// timeout is 1s, past which the answer is not read anyway.
const readyTimeout = 900 * time.Millisecond

// readiness answers /readyz from the backends' gRPC health and the extra
// check the caller supplied.
type readiness struct {
	conns map[backend]*grpc.ClientConn
	extra func(ctx context.Context) error
	// draining is set once Serve begins to stop, so that load balancers
	// stop sending new requests while in-flight ones finish.
	draining *atomic.Bool
	log      *slog.Logger
}

// readyReport is the body of the management listener's /readyz. It names
// what failed; why goes to the log.
type readyReport struct {
	Status string   `json:"status"`
	Failed []string `json:"failed,omitempty"`
}

// check probes everything at once and returns the names that failed.
func (rd *readiness) check(ctx context.Context) []string {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	var (
		mu     sync.Mutex
		failed []string
		wg     sync.WaitGroup
	)
	fail := func(name string, err error) {
		rd.log.WarnContext(ctx, "not ready", "dependency", name, "error", err.Error())
		mu.Lock()
		failed = append(failed, name)
		mu.Unlock()
	}
	if rd.draining != nil && rd.draining.Load() {
		failed = append(failed, "shutdown")
	}
	for name, conn := range rd.conns {
		wg.Go(func() {
			resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
			if err == nil && resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				err = errNotServing(resp.GetStatus())
			}
			if err != nil {
				fail(string(name), err)
			}
		})
	}
	if rd.extra != nil {
		wg.Go(func() {
			if err := rd.extra(ctx); err != nil {
				fail("ready", err)
			}
		})
	}
	wg.Wait()
	slices.Sort(failed)
	return failed
}

// errNotServing is a backend that answered but is not serving.
type errNotServing healthpb.HealthCheckResponse_ServingStatus

func (e errNotServing) Error() string {
	return "health status " + healthpb.HealthCheckResponse_ServingStatus(e).String()
}

// ServeHTTP answers the public /readyz: 200 "ready" when every dependency
// is ready, else 503 "not ready", and nothing more: anyone can ask, and
// which service is down is no business of theirs (the management listener
// says, see details).
func (rd *readiness) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if failed := rd.check(r.Context()); len(failed) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("not ready\n"))
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

// details answers the management listener's /readyz: the same check, with
// the names of what failed (a backend, "ready" for NATS, "shutdown").
func (rd *readiness) details() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		report := readyReport{Status: "ok"}
		code := http.StatusOK
		if failed := rd.check(r.Context()); len(failed) > 0 {
			report = readyReport{Status: "unavailable", Failed: failed}
			code = http.StatusServiceUnavailable
		}
		writeJSON(w, code, report)
	})
}

// healthz answers /healthz: the process is up and serving HTTP, nothing more,
// so a slow backend never gets the gateway restarted.
func healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, readyReport{Status: "ok"})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
