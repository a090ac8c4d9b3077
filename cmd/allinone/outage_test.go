package allinone_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/latchkey/latchkey/cmd/allinone"
	"github.com/latchkey/latchkey/libs/natsx/embedded"
	"github.com/latchkey/latchkey/libs/readiness"
	"github.com/latchkey/latchkey/libs/testkit"
)

// Outages told truthfully (issue 13): while PostgreSQL is down a write
// answers 503 UNAVAILABLE with Retry-After and nothing is ready; the
// moment it is back, calls succeed; while NATS is down every call still
// works and readiness stays green, saying "degraded".
func TestOutages_DatabaseDownIs503AndUnready_BackAtOnce_NATSDownOnlyDegraded(t *testing.T) {
	// A PostgreSQL and a NATS of the test's own: it stops them.
	pg := testkit.NewStoppablePostgres(t)
	ns, err := embedded.Start(embedded.Options{Port: -1, StoreDir: t.TempDir(), ServerName: "outage"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	inst, err := allinone.Start(context.Background(), allinone.Config{
		Edge: loopbackEdge, DataDir: t.TempDir(), NATSURL: ns.ClientURL(), PostgresURL: pg.URL,
		ManagementAddr: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := inst.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	waitReady(t, inst)

	n := 0
	createTenant := func() (int, http.Header, string) {
		n++
		return send(t, "POST", inst.HTTPURL+"/v1/tenants", fmt.Sprintf(`{"code": "outage%d", "name": "Outage"}`, n),
			http.Header{"Authorization": {"Bearer " + inst.OperatorToken}, "Content-Type": {"application/json"}})
	}
	if code, _, body := createTenant(); code != 200 {
		t.Fatalf("create a tenant = %d %s", code, body)
	}
	accountHealth := healthpb.NewHealthClient(peerConn(t, inst, "credential", "account"))
	healthOf := func(service string) healthpb.HealthCheckResponse_ServingStatus {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		resp, err := accountHealth.Check(ctx, &healthpb.HealthCheckRequest{Service: service})
		if err != nil {
			t.Fatalf("account health %q: %v", service, err)
		}
		return resp.GetStatus()
	}

	// PostgreSQL down.
	pg.Stop(t)
	code, header, body := createTenant()
	var answer struct {
		Code    int
		Details []struct{ Reason string }
	}
	_ = json.Unmarshal([]byte(body), &answer)
	if code != http.StatusServiceUnavailable || header.Get("Retry-After") == "" || answer.Code != 14 ||
		len(answer.Details) == 0 || answer.Details[0].Reason != "UNAVAILABLE" {
		t.Fatalf("a write with the database down = %d (Retry-After %q) %s, want 503 UNAVAILABLE with Retry-After",
			code, header.Get("Retry-After"), body)
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		if code, _, _ := get(t, inst.HTTPURL+"/readyz", nil); code != http.StatusServiceUnavailable {
			return fmt.Errorf("public /readyz = %d with the database down", code)
		}
		if s := healthOf(""); s != healthpb.HealthCheckResponse_NOT_SERVING {
			return fmt.Errorf("account's gRPC health = %v with its database down", s)
		}
		if s := healthOf(readiness.SelfService); s != healthpb.HealthCheckResponse_NOT_SERVING {
			return fmt.Errorf("account's own gRPC health = %v with its database down", s)
		}
		// Each service's checker finds the database gone on its own
		// round (CI under -race once saw recovery's come a moment later
		// than account's).
		report := managementReport(t, inst)
		for _, svc := range []string{"account", "credential", "recovery", "mfa", "notification"} {
			if !slices.Contains(report.Failed, svc) {
				return fmt.Errorf("management /readyz %+v does not name %s", report, svc)
			}
		}
		return nil
	})

	// PostgreSQL back: not one call fails once it is.
	pg.Start(t)
	for range 5 {
		if code, _, body := createTenant(); code != 200 {
			t.Fatalf("a write right after the database came back = %d %s", code, body)
		}
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		if code, _, _ := get(t, inst.HTTPURL+"/readyz", nil); code != 200 {
			return fmt.Errorf("public /readyz = %d with the database back", code)
		}
		return nil
	})
	if s := healthOf(""); s != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("account's gRPC health = %v with the database back", s)
	}

	// NATS down: the outbox waits, every call works, the gateway stays in
	// service and says it is degraded.
	ns.Shutdown()
	testkit.Eventually(t, 10*time.Second, func() error {
		if r := managementReport(t, inst); r.Status != "degraded" || !slices.Equal(r.Degraded, []string{"nats"}) || len(r.Failed) > 0 {
			return fmt.Errorf("management /readyz %+v with NATS down, want degraded by nats alone", r)
		}
		return nil
	})
	if code, _, _ := get(t, inst.HTTPURL+"/readyz", nil); code != 200 {
		t.Errorf("public /readyz = %d with NATS down, want 200", code)
	}
	if code, _, body := createTenant(); code != 200 {
		t.Errorf("a write with NATS down = %d %s", code, body)
	}
	if s := healthOf(""); s != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("account's gRPC health = %v with NATS down, want SERVING", s)
	}
	if _, _, metrics := get(t, inst.ManagementURL+"/metrics", nil); !strings.Contains(metrics, `latchkey_nats_connected{connection="latchkey"} 0`) {
		t.Error("metrics do not say NATS is disconnected")
	}
}

func managementReport(t *testing.T, inst *allinone.Instance) readiness.Report {
	t.Helper()
	_, _, body := get(t, inst.ManagementURL+"/readyz", nil)
	var r readiness.Report
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("management /readyz %q: %v", body, err)
	}
	return r
}
