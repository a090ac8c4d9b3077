package embedded_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/latchkey/latchkey/libs/natsx/embedded"
)

func start(t *testing.T, opts embedded.Options) *embedded.Server {
	t.Helper()
	srv, err := embedded.Start(opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return srv
}

func jetStream(t *testing.T, url string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	return nc, js
}

func TestStart_RestartWithSameStoreDirKeepsStreamMessage(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dir := t.TempDir()

	srv := start(t, embedded.Options{Port: -1, StoreDir: dir})
	nc, js := jetStream(t, srv.ClientURL())
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: "KEEP", Subjects: []string{"keep.>"}, Storage: jetstream.FileStorage,
	}); err != nil {
		t.Fatalf("create stream: %v", err)
	}
	if _, err := js.Publish(ctx, "keep.one", []byte("survives")); err != nil {
		t.Fatalf("publish: %v", err)
	}
	nc.Close()
	srv.Shutdown()

	srv = start(t, embedded.Options{Port: -1, StoreDir: dir})
	defer srv.Shutdown()
	nc, js = jetStream(t, srv.ClientURL())
	defer nc.Close()
	s, err := js.Stream(ctx, "KEEP")
	if err != nil {
		t.Fatalf("stream after restart: %v", err)
	}
	msg, err := s.GetMsg(ctx, 1)
	if err != nil {
		t.Fatalf("get message 1 after restart: %v", err)
	}
	if string(msg.Data) != "survives" || msg.Subject != "keep.one" {
		t.Fatalf("after restart got %s %q, want keep.one %q", msg.Subject, msg.Data, "survives")
	}
}

func TestStart_IsFast(t *testing.T) {
	begin := time.Now()
	srv := start(t, embedded.Options{Port: -1, StoreDir: t.TempDir()})
	took := time.Since(begin)
	srv.Shutdown()
	t.Logf("start took %v", took)
	if took > time.Second {
		t.Fatalf("start took %v, want well under a second", took)
	}
}

func TestStart_WithoutStoreDirFails(t *testing.T) {
	if srv, err := embedded.Start(embedded.Options{Port: -1}); err == nil {
		srv.Shutdown()
		t.Fatal("Start without StoreDir succeeded")
	}
}

func TestStart_PortTakenFailsQuicklyWithReason(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port

	begin := time.Now()
	srv, err := embedded.Start(embedded.Options{Port: port, StoreDir: t.TempDir()})
	if err == nil {
		srv.Shutdown()
		t.Fatal("Start on a taken port succeeded")
	}
	if !strings.Contains(err.Error(), "listen") {
		t.Errorf("error %q does not say why", err)
	}
	if took := time.Since(begin); took > 2*time.Second {
		t.Errorf("failing took %v", took)
	}
}

func TestServer_ListensOnLoopbackByDefault(t *testing.T) {
	srv := start(t, embedded.Options{Port: -1, StoreDir: t.TempDir()})
	defer srv.Shutdown()
	if !strings.HasPrefix(srv.ClientURL(), "nats://127.0.0.1:") {
		t.Fatalf("ClientURL = %s, want nats://127.0.0.1:port", srv.ClientURL())
	}
}
