package infra_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/protobuf/proto"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/config"
	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/events"
	"github.com/latchkey/latchkey/libs/inbox"
	"github.com/latchkey/latchkey/libs/infra"
	"github.com/latchkey/latchkey/libs/natsx"
	"github.com/latchkey/latchkey/libs/outbox"
	"github.com/latchkey/latchkey/libs/testkit"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
)

// Two deployments with different prefixes on one NATS each see only their
// own events, although their services use the same subjects and the same
// durable consumer names (before prefixes, the second deployment's
// consumer joined the first one's and took its events).
func TestOpen_PrefixedDeploymentsOnOneNATS_SeeOnlyTheirOwnEvents(t *testing.T) {
	srv := testkit.NATS(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	type deployment struct {
		in     *infra.Infra
		tenant string
		got    chan string
	}
	var deps []*deployment
	for range 2 {
		names := srv.Names(t)
		in, err := infra.Open(ctx, infra.Service{Name: "account"}, infra.Settings{
			DataDir: t.TempDir(), NATSURL: srv.URL, NATSNames: names, InternalAddr: "127.0.0.1:0",
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(in.Close)
		d := &deployment{in: in, tenant: names.Prefix, got: make(chan string, 10)}
		deps = append(deps, d)

		// One log-in event each, through the outbox and its relay.
		box := outbox.New(in.DB, clock.System{}, "account")
		ev := &eventsv1.LoginSucceeded{Meta: events.NewMeta(d.tenant, nil, time.Now()), AccountId: "a1"}
		if err := in.DB.InTx(ctx, func(tx dbx.Tx) error {
			return box.Write(ctx, tx, events.LoginSucceeded, ev.Meta.EventId, ev)
		}); err != nil {
			t.Fatal(err)
		}
		if n, err := in.Relay(box, outbox.RelayOptions{}).PublishPending(ctx); err != nil || n != 1 {
			t.Fatalf("relay: %d published, %v", n, err)
		}
		// The row keeps its base subject: the prefix is the relay's.
		var subject string
		if err := in.DB.QueryRow(ctx, "SELECT subject FROM outbox_events").Scan(&subject); err != nil || subject != events.LoginSucceeded {
			t.Fatalf("outbox row subject %q (%v), want %q", subject, err, events.LoginSucceeded)
		}
	}
	for _, d := range deps {
		cfg := inbox.Config{Stream: natsx.EventsStreamName, Durable: "account-login-succeeded", FilterSubject: events.LoginSucceeded}
		go d.in.Consume(ctx, cfg, func(_ context.Context, _ dbx.Tx, msg jetstream.Msg) error {
			var ev eventsv1.LoginSucceeded
			if err := proto.Unmarshal(msg.Data(), &ev); err != nil {
				return inbox.Permanent(err)
			}
			d.got <- ev.GetMeta().GetTenantId()
			return nil
		})
	}
	for _, d := range deps {
		select {
		case tenant := <-d.got:
			if tenant != d.tenant {
				t.Errorf("deployment %s consumed deployment %s's event", d.tenant, tenant)
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("deployment %s never received its event", d.tenant)
		}
		evs := testkit.ReadEvents(t, srv.URL, testkit.EventQuery{Names: d.in.Names})
		if len(evs) != 1 || evs[0].Meta.GetTenantId() != d.tenant || evs[0].Subject != events.LoginSucceeded {
			t.Errorf("deployment %s's stream holds %v, want its one %s", d.tenant, testkit.CountBySubject(evs), events.LoginSucceeded)
		}
	}
	for _, d := range deps {
		select {
		case tenant := <-d.got:
			t.Errorf("deployment %s received a second event, of %s", d.tenant, tenant)
		default:
		}
	}
}

func TestNATSSettings_BadPrefixOrReplicas_NameTheVariable(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{infra.EnvNATSPrefix: "acme.prod"}, infra.EnvNATSPrefix},
		{map[string]string{infra.EnvNATSPrefix: "acme>"}, infra.EnvNATSPrefix},
		{map[string]string{infra.EnvNATSPrefix: strings.Repeat("a", 65)}, infra.EnvNATSPrefix},
		{map[string]string{infra.EnvNATSReplicas: "2"}, infra.EnvNATSReplicas},
		{map[string]string{infra.EnvNATSReplicas: "0"}, infra.EnvNATSReplicas},
		{map[string]string{infra.EnvNATSReplicas: "7"}, infra.EnvNATSReplicas},
		{map[string]string{infra.EnvNATSReplicas: "three"}, infra.EnvNATSReplicas},
	} {
		l := config.New(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
		infra.NATSNames(l)
		infra.NATSReplicas(l)
		if err := l.Err(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one naming %s", tc.env, err, tc.want)
		}
	}
	l := config.New(func(k string) (string, bool) {
		v, ok := map[string]string{infra.EnvNATSPrefix: "acme-prod_2", infra.EnvNATSReplicas: "3"}[k]
		return v, ok
	})
	names, replicas := infra.NATSNames(l), infra.NATSReplicas(l)
	if err := l.Err(); err != nil || names.Prefix != "acme-prod_2" || replicas != 3 {
		t.Errorf("good settings: %+v %d %v", names, replicas, err)
	}
	// Settings built in code are checked by Open, before anything opens.
	_, err := infra.Open(context.Background(), infra.Service{Name: "svc"}, infra.Settings{
		DataDir: t.TempDir(), NATSURL: "nats://127.0.0.1:1", NATSReplicas: 4,
	})
	if err == nil || !strings.Contains(err.Error(), infra.EnvNATSReplicas) {
		t.Errorf("Open with 4 replicas: %v", err)
	}
}

// The relay's count of lost events is a metric of the service.
func TestRelay_LostEventsAreAMetric(t *testing.T) {
	reg := prometheus.NewRegistry()
	in, err := infra.Open(context.Background(), infra.Service{Name: "account"}, infra.Settings{
		DataDir: t.TempDir(), NATSURL: testkit.NATS(t).URL, InternalAddr: "127.0.0.1:0", Registerer: reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	in.Relay(outbox.New(in.DB, clock.System{}, "account"), outbox.RelayOptions{})
	n, err := testutil.GatherAndCount(reg, "latchkey_outbox_lost_events_total")
	if err != nil || n != 1 {
		t.Fatalf("metric series %d, %v", n, err)
	}
}
