package testkit

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/latchkey/latchkey/libs/natsx"
	"github.com/latchkey/latchkey/libs/natsx/embedded"
)

// NATSURLEnv names the environment variable with the URL of a NATS server
// (with JetStream) for tests to share.
const NATSURLEnv = "LATCHKEY_TEST_NATS_URL"

// NATSServer is the NATS server a test talks to.
type NATSServer struct {
	// URL is the client URL, e.g. nats://127.0.0.1:4222.
	URL string
	// Shared is true when the server is the one LATCHKEY_TEST_NATS_URL
	// names, which other tests use at the same time: such a test keeps to
	// its own subjects and streams (UniquePrefix, StreamName).
	Shared bool
}

// NATS returns the server LATCHKEY_TEST_NATS_URL names or, when that is
// unset or empty, starts an embedded nats-server with JetStream for t alone
// (a random port, its store in t.TempDir()) and shuts it down when t ends.
// An embedded server starts in milliseconds, so each test gets a fresh one
// rather than sharing.
func NATS(t testing.TB) *NATSServer {
	t.Helper()
	if u := os.Getenv(NATSURLEnv); u != "" {
		return &NATSServer{URL: u, Shared: true}
	}
	srv, err := embedded.Start(embedded.Options{
		Port:       -1,
		StoreDir:   t.TempDir(),
		ServerName: "testkit",
	})
	if err != nil {
		t.Fatalf("testkit: %s is not set and the embedded NATS did not start: %v", NATSURLEnv, err)
	}
	// Registered after t.TempDir, so it runs before the store is removed.
	t.Cleanup(srv.Shutdown)
	return &NATSServer{URL: srv.ClientURL()}
}

// Conn connects to the server with natsx.Connect, named after the test, and
// closes the connection when t ends.
func (n *NATSServer) Conn(t testing.TB) *nats.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nc, err := natsx.Connect(ctx, n.URL, t.Name())
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// JetStream returns the JetStream API over a new connection (see Conn).
func (n *NATSServer) JetStream(t testing.TB) jetstream.JetStream {
	t.Helper()
	js, err := natsx.NewJetStream(n.Conn(t))
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	return js
}

// Stream creates the stream cfg describes and deletes it when t ends, so a
// shared server does not fill up with test streams. Give it a name from
// StreamName and subjects under UniquePrefix when the server may be shared.
func (n *NATSServer) Stream(t testing.TB, cfg jetstream.StreamConfig) jetstream.Stream {
	t.Helper()
	js := n.JetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := js.CreateStream(ctx, cfg)
	if err != nil {
		t.Fatalf("testkit: create stream %s: %v", cfg.Name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := js.DeleteStream(ctx, cfg.Name); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			t.Errorf("testkit: delete stream %s: %v", cfg.Name, err)
		}
	})
	return s
}

// Names returns NATS names under a prefix no other test uses (UniquePrefix),
// for a test that runs services or the all-in-one on a server others may
// share: its streams, subjects and durable consumers are its own, so two
// suites at once do not take each other's events. The streams made under
// them are deleted when t ends (after whatever t started later stopped).
func (n *NATSServer) Names(t testing.TB) natsx.Names {
	t.Helper()
	names := natsx.Names{Prefix: UniquePrefix(t)}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		nc, err := natsx.Connect(ctx, n.URL, "testkit-cleanup")
		if err != nil {
			t.Logf("testkit: streams of %s left: %v", names.Prefix, err)
			return
		}
		defer nc.Close()
		js, err := natsx.NewJetStream(nc)
		if err != nil {
			return
		}
		for _, s := range natsx.Streams(natsx.StreamOptions{Names: names}) {
			if err := js.DeleteStream(ctx, s.Name); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
				t.Logf("testkit: delete stream %s: %v", s.Name, err)
			}
		}
	})
	return names
}
