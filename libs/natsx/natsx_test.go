package natsx_test

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/latchkey/latchkey/libs/natsx"
	"github.com/latchkey/latchkey/libs/natsx/embedded"
	"github.com/latchkey/latchkey/libs/testkit"
)

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// privateCopy renames a Latchkey stream definition and moves its subjects
// under a prefix of the test's own, so the test can run against a NATS that
// other tests share, while keeping every other setting of the definition.
func privateCopy(t *testing.T, cfg jetstream.StreamConfig) jetstream.StreamConfig {
	prefix := testkit.UniquePrefix(t)
	cfg.Name = testkit.StreamName(t, cfg.Name)
	subjects := make([]string, len(cfg.Subjects))
	for i, s := range cfg.Subjects {
		subjects[i] = prefix + "." + s
	}
	cfg.Subjects = subjects
	return cfg
}

func deleteStreamAtEnd(t *testing.T, js jetstream.JetStream, name string) {
	t.Cleanup(func() {
		if err := js.DeleteStream(context.Background(), name); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			t.Errorf("delete stream %s: %v", name, err)
		}
	})
}

// Runs against nats-server 2.9 when LATCHKEY_TEST_NATS_URL names the
// machine's server, and against the embedded 2.15 otherwise.
func TestEnsureStream_DefinitionsAreIdempotent(t *testing.T) {
	ctx := testContext(t)
	js := testkit.NATS(t).JetStream(t)
	t.Logf("nats-server %s", js.Conn().ConnectedServerVersion())
	for _, def := range natsx.Streams(natsx.StreamOptions{}) {
		t.Run(def.Name, func(t *testing.T) {
			cfg := privateCopy(t, def)
			deleteStreamAtEnd(t, js, cfg.Name)
			first, err := natsx.EnsureStream(ctx, js, cfg)
			if err != nil {
				t.Fatalf("first EnsureStream: %v", err)
			}
			created := first.CachedInfo().Created
			second, err := natsx.EnsureStream(ctx, js, cfg)
			if err != nil {
				t.Fatalf("second EnsureStream: %v", err)
			}
			got := second.CachedInfo()
			if !got.Created.Equal(created) {
				t.Errorf("stream was recreated: created %v, then %v", created, got.Created)
			}
			c := got.Config
			if c.Retention != def.Retention || c.Storage != def.Storage || c.Duplicates != def.Duplicates {
				t.Errorf("server kept retention %v storage %v duplicates %v, want %v %v %v",
					c.Retention, c.Storage, c.Duplicates, def.Retention, def.Storage, def.Duplicates)
			}
		})
	}
}

func TestStreams_MatchTheAgreedDefinitions(t *testing.T) {
	ev, nt := natsx.EventsStream(natsx.StreamOptions{}), natsx.NotifyStream(natsx.StreamOptions{})
	if ev.Name != "LATCHKEY_EVENTS" || len(ev.Subjects) != 1 || ev.Subjects[0] != "latchkey.events.v1.>" ||
		ev.Storage != jetstream.FileStorage || ev.Retention != jetstream.LimitsPolicy || ev.Duplicates != 2*time.Minute {
		t.Errorf("events stream = %+v", ev)
	}
	if nt.Name != "LATCHKEY_NOTIFY" || len(nt.Subjects) != 1 || nt.Subjects[0] != "latchkey.notify.v1.>" ||
		nt.Retention != jetstream.WorkQueuePolicy {
		t.Errorf("notify stream = %+v", nt)
	}
}

// EnsureStreams itself creates the real names, so it gets a server of its
// own rather than the shared one.
func TestEnsureStreams_CreatesBothAndCanRunAgain(t *testing.T) {
	ctx := testContext(t)
	srv, err := embedded.Start(embedded.Options{Port: -1, StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	nc, err := natsx.Connect(ctx, srv.ClientURL(), t.Name())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := natsx.NewJetStream(nc)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := natsx.EnsureStreams(ctx, js, natsx.StreamOptions{}); err != nil {
			t.Fatalf("EnsureStreams call %d: %v", i+1, err)
		}
	}
	for subject, stream := range map[string]string{
		"latchkey.events.v1.account.created": natsx.EventsStreamName,
		"latchkey.notify.v1.mail":            natsx.NotifyStreamName,
	} {
		ack, err := js.Publish(ctx, subject, []byte("x"))
		if err != nil {
			t.Fatalf("publish %s: %v", subject, err)
		}
		if ack.Stream != stream {
			t.Errorf("%s went to stream %s, want %s", subject, ack.Stream, stream)
		}
	}
}

func TestPublishMsg_SameIDTwiceIsStoredOnce(t *testing.T) {
	ctx := testContext(t)
	n := testkit.NATS(t)
	cfg := privateCopy(t, natsx.EventsStream(natsx.StreamOptions{}))
	stream := n.Stream(t, cfg)
	js := n.JetStream(t)
	subject := cfg.Subjects[0][:len(cfg.Subjects[0])-1] + "account.created"

	for i, wantDup := range []bool{false, true} {
		dup, err := natsx.PublishMsg(ctx, js, subject, "event-1", []byte("payload"), map[string]string{"Latchkey-Type": "AccountCreated"})
		if err != nil {
			t.Fatalf("publish %d: %v", i+1, err)
		}
		if dup != wantDup {
			t.Errorf("publish %d: duplicate = %v, want %v", i+1, dup, wantDup)
		}
	}
	if dup, err := natsx.PublishMsg(ctx, js, subject, "event-2", []byte("other"), nil); err != nil || dup {
		t.Fatalf("publish of another id: duplicate %v, err %v", dup, err)
	}

	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 2 {
		t.Fatalf("stream holds %d messages, want 2 (event-1 once, event-2 once)", info.State.Msgs)
	}
	msg, err := stream.GetMsg(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := msg.Header.Get(jetstream.MsgIDHeader); got != "event-1" {
		t.Errorf("Nats-Msg-Id = %q, want event-1", got)
	}
	if got := msg.Header.Get("Latchkey-Type"); got != "AccountCreated" {
		t.Errorf("Latchkey-Type header = %q, want AccountCreated", got)
	}
}

func TestPublishMsg_EmptyIDIsRefused(t *testing.T) {
	js := testkit.NATS(t).JetStream(t)
	if _, err := natsx.PublishMsg(testContext(t), js, "anything", "", nil, nil); err == nil {
		t.Fatal("PublishMsg with an empty id succeeded")
	}
}

func TestConnect_ReconnectsAfterServerRestart(t *testing.T) {
	ctx := testContext(t)
	dir := t.TempDir()
	srv, err := embedded.Start(embedded.Options{Port: -1, StoreDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	clientURL := srv.ClientURL()
	u, err := url.Parse(clientURL)
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatal(err)
	}

	reconnected := make(chan struct{}, 1)
	nc, err := natsx.Connect(ctx, clientURL, t.Name(), nats.ReconnectHandler(func(*nats.Conn) { reconnected <- struct{}{} }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)

	// Same port and store: what a restarted NATS looks like to a client.
	srv.Shutdown()
	srv, err = embedded.Start(embedded.Options{Port: port, StoreDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)

	select {
	case <-reconnected:
	case <-ctx.Done():
		t.Fatalf("no reconnect; status %v", nc.Status())
	}
	if err := nc.Flush(); err != nil {
		t.Fatalf("flush after reconnect: %v", err)
	}
}

func TestConnect_GivesUpWhenContextEnds(t *testing.T) {
	// A listener that accepts and never speaks: the client waits for the
	// server's INFO until its timeout.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	begin := time.Now()
	nc, err := natsx.Connect(ctx, "nats://"+l.Addr().String(), t.Name())
	if err == nil {
		nc.Close()
		t.Fatal("Connect to a silent server succeeded")
	}
	if took := time.Since(begin); took > 2*time.Second {
		t.Fatalf("Connect returned after %v, want about 300ms", took)
	}
}
