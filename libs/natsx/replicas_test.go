package natsx_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/latchkey/latchkey/libs/natsx"
	"github.com/latchkey/latchkey/libs/testkit"
)

func TestCheckReplicas_OddUpToFive(t *testing.T) {
	for n, ok := range map[int]bool{1: true, 3: true, 5: true, -1: false, 0: false, 2: false, 4: false, 6: false, 7: false} {
		if err := natsx.CheckReplicas(n); (err == nil) != ok {
			t.Errorf("CheckReplicas(%d) = %v, want ok %v", n, err, ok)
		}
	}
}

// startCluster runs a 3-node JetStream cluster in the test process and
// returns the client URLs.
func startCluster(t *testing.T) string {
	t.Helper()
	const size = 3
	var routes []string
	var ports []int
	for range size {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", ports[len(ports)-1]))
		l.Close()
	}
	var urls []string
	for i := range size {
		ns, err := server.NewServer(&server.Options{
			ServerName: fmt.Sprintf("n%d", i), Host: "127.0.0.1", Port: -1,
			JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true,
			Cluster: server.ClusterOpts{Name: "latchkey-test", Host: "127.0.0.1", Port: ports[i]},
			Routes:  server.RoutesFromStr(strings.Join(routes, ",")),
		})
		if err != nil {
			t.Fatal(err)
		}
		ns.Start()
		t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
		if !ns.ReadyForConnections(10 * time.Second) {
			t.Fatalf("node %d did not start", i)
		}
		urls = append(urls, ns.ClientURL())
	}
	return strings.Join(urls, ",")
}

// A change of LATCHKEY_NATS_REPLICAS reaches the existing streams: R1
// streams become R3 when a service starts with 3.
func TestEnsureStreams_ChangesReplicasOfExistingStreams(t *testing.T) {
	js := (&testkit.NATSServer{URL: startCluster(t)}).JetStream(t)
	names := natsx.Names{Prefix: "replicas"}
	// The cluster elects its JetStream leader first: a service starting
	// beside it waits (AwaitStreams), and its R3 streams come.
	start, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := natsx.AwaitStreams(start, js, natsx.StreamOptions{Names: names, Replicas: 3}, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("streams on a cluster just started: %v", err)
	}
	ctx := testContext(t)
	for _, replicas := range []int{1, 3, 3} { // back to R1, then R3 again
		if err := natsx.EnsureStreams(ctx, js, natsx.StreamOptions{Names: names, Replicas: replicas}); err != nil {
			t.Fatalf("ensure R%d: %v", replicas, err)
		}
		for _, def := range natsx.Streams(natsx.StreamOptions{Names: names}) {
			s, err := js.Stream(ctx, def.Name)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.CachedInfo().Config.Replicas; got != replicas {
				t.Errorf("%s has %d replicas, want %d", def.Name, got, replicas)
			}
		}
	}
}
