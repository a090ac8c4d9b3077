package natsauth_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/events"
	"github.com/latchkey/latchkey/libs/inbox"
	"github.com/latchkey/latchkey/libs/natsauth"
	"github.com/latchkey/latchkey/libs/natsx"
	"github.com/latchkey/latchkey/libs/natsx/embedded"
	"github.com/latchkey/latchkey/libs/outbox"
	"github.com/latchkey/latchkey/libs/testkit"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// server is an embedded nats-server enforcing the configuration
// ServerConfig writes for names, with a seed file per user.
type server struct {
	url   string
	names natsx.Names
	seeds map[string]string
}

func startServer(t *testing.T, names natsx.Names) *server {
	t.Helper()
	dir := t.TempDir()
	s := &server{names: names, seeds: map[string]string{}}
	if _, err := natsauth.WriteFiles(dir, names); err != nil {
		t.Fatal(err)
	}
	for _, role := range natsauth.Roles() {
		s.seeds[role.User] = natsauth.SeedFile(dir, role.User)
	}
	conf := filepath.Join(dir, natsauth.ConfigFileName)
	ns, err := embedded.Start(embedded.Options{Port: -1, StoreDir: t.TempDir(), AuthFile: conf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	s.url = ns.ClientURL()
	return s
}

// client is one service's connection; violations collects the
// permission errors the server sent it.
type client struct {
	nc         *nats.Conn
	js         jetstream.JetStream
	violations chan string
}

func (s *server) connect(t *testing.T, user string) *client {
	t.Helper()
	opts, err := natsx.UserOptions(s.names, user, s.seeds[user])
	if err != nil {
		t.Fatal(err)
	}
	c := &client{violations: make(chan string, 100)}
	opts = append(opts, nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		if errors.Is(err, nats.ErrPermissionViolation) {
			c.violations <- err.Error()
		}
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if c.nc, err = natsx.Connect(ctx, s.url, user, opts...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.nc.Close)
	if c.js, err = natsx.NewJetStream(c.nc); err != nil {
		t.Fatal(err)
	}
	if err := natsx.EnsureStreams(ctx, c.js, natsx.StreamOptions{Names: s.names}); err != nil {
		t.Fatalf("%s ensures the streams: %v", user, err)
	}
	return c
}

// refused waits for the server's permission error naming subject.
func (c *client) refused(t *testing.T, what, subject string) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case v := <-c.violations:
			if strings.Contains(v, subject) {
				return
			}
		case <-timeout:
			t.Errorf("%s: no permissions violation for %s", what, subject)
			return
		}
	}
}

func (c *client) publish(ctx context.Context, subject string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := natsx.PublishMsg(ctx, c.js, subject, "id-"+subject, []byte("x"), nil)
	return err
}

// The account service's client is refused what is not its own: publishing
// a credential event, reading the notification work queue (by
// subscription or by a consumer), consuming events it has no consumer
// for. A client without a seed is not admitted at all.
func TestAccountUser_RefusedOnOtherServicesSubjects(t *testing.T) {
	names := natsx.Names{Prefix: "acme"}
	s := startServer(t, names)
	ctx := context.Background()
	account := s.connect(t, "account")

	if err := account.publish(ctx, names.Subject(events.AccountCreated)); err != nil {
		t.Fatalf("account publishes its own event: %v", err)
	}

	credentialOnly := names.Subject(events.PasswordChanged)
	if err := account.publish(ctx, credentialOnly); err == nil {
		t.Error("account published a credential event")
	}
	account.refused(t, "publish a credential event", credentialOnly)

	work := names.Subject(natsx.NotifySubjects)
	if _, err := account.nc.SubscribeSync(work); err != nil {
		t.Fatal(err)
	}
	account.refused(t, "subscribe to the notification work", work)

	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := account.js.CreateOrUpdateConsumer(cctx, names.Stream(natsx.NotifyStreamName), jetstream.ConsumerConfig{
		Durable: "notification-send", FilterSubject: names.Subject(natsx.NotifySendSubject), AckPolicy: jetstream.AckExplicitPolicy,
	}); err == nil {
		t.Error("account joined the notification work queue")
	}
	account.refused(t, "consume the notification work", "$JS.API.CONSUMER.CREATE."+names.Stream(natsx.NotifyStreamName))

	cctx, cancel = context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := account.js.CreateOrUpdateConsumer(cctx, names.Stream(natsx.EventsStreamName), jetstream.ConsumerConfig{
		Durable: "recovery-password-changed", FilterSubject: names.Subject(events.PasswordChanged), AckPolicy: jetstream.AckExplicitPolicy,
	}); err == nil {
		t.Error("account made a consumer of events it does not consume")
	}

	// Another deployment's names are out of reach too.
	other := natsx.Names{Prefix: "other"}
	if err := account.publish(ctx, other.Subject(events.AccountCreated)); err == nil {
		t.Error("account published into another deployment")
	}

	cctx, cancel = context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if nc, err := natsx.Connect(cctx, s.url, "anonymous"); err == nil {
		nc.Close()
		t.Error("a client without a seed was admitted")
	}
}

// Each service still works on its own subjects: publishes what its row
// says, creates its consumers, pulls and acknowledges through the inbox,
// and follows revocations.
func TestServiceUsers_WorkOnTheirOwnSubjects(t *testing.T) {
	names := natsx.Names{Prefix: "acme"}
	s := startServer(t, names)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()

	clients := map[string]*client{}
	for _, role := range natsauth.Roles() {
		if role.User == "gateway" {
			continue
		}
		c := s.connect(t, role.User)
		clients[role.User] = c
		for _, subject := range role.Publishes {
			subject = strings.Replace(subject, ">", "test", 1)
			if err := c.publish(ctx, names.Subject(subject)); err != nil {
				t.Errorf("%s publishes %s: %v", role.User, subject, err)
			}
		}
		for i, cons := range role.Consumes {
			if cons.Stream == natsx.NotifyStreamName {
				continue // a work queue takes one consumer: inbox.Run's below
			}
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_, err := c.js.CreateOrUpdateConsumer(cctx, names.Stream(cons.Stream), jetstream.ConsumerConfig{
				Durable: role.User + "-test-" + string(rune('a'+i)), FilterSubject: names.Subject(cons.Subject), AckPolicy: jetstream.AckExplicitPolicy,
			})
			cancel()
			if err != nil {
				t.Errorf("%s consumes %s: %v", role.User, cons.Subject, err)
			}
		}
		select {
		case v := <-c.violations:
			t.Errorf("%s: %s", role.User, v)
		default:
		}
	}

	// Recovery asked for an e-mail above; notification's inbox takes it
	// and acknowledges it, which empties the work queue.
	db := testkit.OpenMigrated(t, dbx.SQLite, "notification", func(ctx context.Context, db dbx.DB) error {
		return dbx.Migrate(ctx, db, "inbox", inbox.Migrations)
	})
	got := make(chan string, 1)
	notification := clients["notification"]
	ran := make(chan error, 1)
	go func() {
		ran <- inbox.Run(ctx, notification.js, db, inbox.Config{Names: names, Stream: natsx.NotifyStreamName, Durable: "notification-send",
			FilterSubject: natsx.NotifySendSubject}, func(_ context.Context, _ dbx.Tx, msg jetstream.Msg) error {
			got <- string(msg.Data())
			return nil
		})
	}()
	select {
	case err := <-ran:
		t.Fatalf("notification's inbox: %v", err)
	case m := <-got:
		if m != "x" {
			t.Fatalf("notification got %q", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("notification never got the work")
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		st, err := notification.js.Stream(ctx, names.Stream(natsx.NotifyStreamName))
		if err != nil {
			return err
		}
		if info, err := st.Info(ctx); err != nil || info.State.Msgs != 0 {
			return errors.New("the work is not acknowledged")
		}
		return nil
	})

	// Credential revokes a session; account follows the revocations.
	rev, _ := proto.Marshal(&eventsv1.SessionRevoked{Meta: events.NewMeta("t", nil, time.Now()), SessionId: "s1",
		AccessExpireTime: timestamppb.New(time.Now().Add(time.Minute))})
	if _, err := natsx.PublishMsg(ctx, clients["credential"].js, names.Subject(authn.SessionRevokedSubject), "rev-1", rev, nil); err != nil {
		t.Fatal(err)
	}
	deny := authn.NewDenylist(clock.System{})
	if err := authn.FollowRevocations(ctx, clients["account"].js, deny, authn.FollowOptions{Names: names}); err != nil {
		t.Fatalf("account follows revocations: %v", err)
	}
	if !deny.Revoked("s1") {
		t.Error("account did not apply the revocation")
	}
	for user, c := range clients {
		select {
		case v := <-c.violations:
			t.Errorf("%s: %s", user, v)
		default:
		}
	}
}

// The gateway only watches its connection: it may neither publish nor
// subscribe.
func TestGatewayUser_MayDoNothing(t *testing.T) {
	names := natsx.Names{}
	s := startServer(t, names)
	opts, err := natsx.UserOptions(names, "gateway", s.seeds["gateway"])
	if err != nil {
		t.Fatal(err)
	}
	violations := make(chan string, 10)
	opts = append(opts, nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { violations <- err.Error() }))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	nc, err := natsx.Connect(ctx, s.url, "gateway", opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if err := nc.Publish(events.AccountCreated, []byte("x")); err != nil {
		t.Fatal(err)
	}
	select {
	case v := <-violations:
		if !strings.Contains(v, "Permissions Violation") {
			t.Errorf("gateway publish: %s", v)
		}
	case <-time.After(5 * time.Second):
		t.Error("the gateway published")
	}
}

// A subscriber reads every event and can change nothing: it publishes no
// event and may not redefine the streams (a shorter MaxAge would drop
// events).
func TestSubscriberUser_ReadsEventsChangesNothing(t *testing.T) {
	names := natsx.Names{Prefix: "acme"}
	s := startServer(t, names)
	ctx := context.Background()
	account := s.connect(t, "account") // ensures the streams
	ev := &eventsv1.AccountCreated{Meta: events.NewMeta("t1", nil, time.Now()), AccountId: "a1"}
	data, _ := proto.Marshal(ev)
	header := map[string]string{outbox.HeaderEventType: string(ev.ProtoReflect().Descriptor().FullName())}
	if _, err := natsx.PublishMsg(ctx, account.js, names.Subject(events.AccountCreated), ev.Meta.EventId, data, header); err != nil {
		t.Fatal(err)
	}
	evs := testkit.ReadEvents(t, s.url, testkit.EventQuery{Names: names, NKeyFile: s.seeds[natsauth.Subscriber]})
	if len(evs) != 1 || evs[0].Subject != events.AccountCreated {
		t.Fatalf("subscriber read %v", testkit.CountBySubject(evs))
	}

	opts, err := natsx.UserOptions(names, natsauth.Subscriber, s.seeds[natsauth.Subscriber])
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	nc, err := natsx.Connect(cctx, s.url, "subscriber", opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := natsx.NewJetStream(nc)
	if err != nil {
		t.Fatal(err)
	}
	cfg := natsx.EventsStream(natsx.StreamOptions{Names: names})
	cfg.MaxAge = time.Hour
	if _, err := js.UpdateStream(cctx, cfg); err == nil {
		t.Error("the subscriber redefined the events stream")
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := natsx.PublishMsg(pctx, js, names.Subject(events.AccountCreated), "forged", data, header); err == nil {
		t.Error("the subscriber published an event")
	}
}
