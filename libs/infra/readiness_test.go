package infra_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/latchkey/latchkey/libs/infra"
	"github.com/latchkey/latchkey/libs/readiness"
	"github.com/latchkey/latchkey/libs/testkit"
)

// A service is ready only while the peers it requires are: here a peer
// whose own dependencies fail (its readiness.SelfService is NOT_SERVING)
// takes the service's overall health and /readyz down, not its own status.
func TestServe_HealthFollowsRequiredPeers(t *testing.T) {
	peerHealth := health.NewServer()
	peerHealth.SetServingStatus(readiness.SelfService, healthpb.HealthCheckResponse_SERVING)
	peerLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	peer := grpc.NewServer()
	healthpb.RegisterHealthServer(peer, peerHealth)
	go func() { _ = peer.Serve(peerLis) }()
	t.Cleanup(peer.Stop)

	settings := infra.Settings{DataDir: t.TempDir(), NATSURL: testkit.NATS(t).URL, InternalAddr: "127.0.0.1:0", Management: http.NewServeMux()}.WithDefaults()
	in, err := infra.Open(context.Background(), infra.Service{Name: "svc"}, settings)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if _, err := in.DialRequired(settings, "peer", peerLis.Addr().String()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- in.Serve(ctx, "svc", settings, infra.API{Internal: func(grpc.ServiceRegistrar) {}}) }()
	t.Cleanup(func() { cancel(); <-served })

	conn, err := grpc.NewClient(in.InternalListener.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := healthpb.NewHealthClient(conn)
	want := func(service string, status healthpb.HealthCheckResponse_ServingStatus) error {
		resp, err := client.Check(context.Background(), &healthpb.HealthCheckRequest{Service: service})
		if err != nil {
			return err
		}
		if resp.GetStatus() != status {
			return fmt.Errorf("health %q = %v, want %v", service, resp.GetStatus(), status)
		}
		return nil
	}
	mgmt := httptest.NewServer(settings.Management)
	defer mgmt.Close()
	readyz := func() (int, readiness.Report) {
		resp, err := http.Get(mgmt.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r readiness.Report
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, r
	}

	testkit.Eventually(t, 10*time.Second, func() error { return want("", healthpb.HealthCheckResponse_SERVING) })
	if code, r := readyz(); code != 200 || r.Status != "ok" {
		t.Fatalf("/readyz = %d %+v with everything up", code, r)
	}

	peerHealth.SetServingStatus(readiness.SelfService, healthpb.HealthCheckResponse_NOT_SERVING)
	testkit.Eventually(t, 10*time.Second, func() error { return want("", healthpb.HealthCheckResponse_NOT_SERVING) })
	if err := want(readiness.SelfService, healthpb.HealthCheckResponse_SERVING); err != nil {
		t.Errorf("the service's own status must leave its peers out: %v", err)
	}
	if code, r := readyz(); code != http.StatusServiceUnavailable || !slices.Equal(r.Failed, []string{"peer"}) {
		t.Errorf("/readyz = %d %+v with the peer down, want 503 naming it", code, r)
	}

	peerHealth.SetServingStatus(readiness.SelfService, healthpb.HealthCheckResponse_SERVING)
	testkit.Eventually(t, 10*time.Second, func() error { return want("", healthpb.HealthCheckResponse_SERVING) })
}
