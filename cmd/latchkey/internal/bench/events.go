package bench

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/latchkey/latchkey/libs/natsx"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
)

// eventSample is what the event phase saw.
type eventSample struct {
	rate               float64 // changes a second asked
	sent, failed, recv int
	lats               []time.Duration // commit → receipt, sorted
	firstErr           error
}

// measureEvents changes the display name of the tenant's accounts at
// perSecond for d, while a consumer of its own (an ordered, ephemeral
// consumer: it takes nothing from the suite's durable ones) reads
// account.updated from the events stream. Each event's latency is from
// its meta.occur_time, the commit time the outbox row carries, to its
// receipt here; the bench runs on the suite's host, so one clock serves.
func measureEvents(ctx context.Context, progress io.Writer, a *api, natsURL string, names natsx.Names, operatorToken string,
	t *tenant, perSecond int, d time.Duration) (eventSample, error) {
	s := eventSample{rate: float64(perSecond)}
	nc, err := natsx.Connect(ctx, natsURL, "latchkey-bench")
	if err != nil {
		return s, err
	}
	defer nc.Close()
	js, err := natsx.NewJetStream(nc)
	if err != nil {
		return s, err
	}
	// From a start time rather than "new": an ordered consumer is made on
	// the server when it starts consuming, and no change of the phase may
	// come before that.
	from := time.Now()
	cons, err := js.OrderedConsumer(ctx, names.Stream(natsx.EventsStreamName), jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{names.Subject(natsx.EventsSubjectPrefix + ".account.updated")},
		DeliverPolicy:  jetstream.DeliverByStartTimePolicy,
		OptStartTime:   &from,
	})
	if err != nil {
		return s, fmt.Errorf("consumer on the events stream: %w", err)
	}
	var (
		mu   sync.Mutex
		seen = map[string]bool{}
		lats []time.Duration
	)
	cc, err := cons.Consume(func(m jetstream.Msg) {
		at := time.Now()
		ev := &eventsv1.AccountUpdated{}
		if proto.Unmarshal(m.Data(), ev) != nil || ev.GetMeta().GetTenantId() != t.id {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if id := ev.GetMeta().GetEventId(); !seen[id] {
			seen[id] = true
			lats = append(lats, at.Sub(ev.GetMeta().GetOccurTime().AsTime()))
		}
	})
	if err != nil {
		return s, err
	}
	defer cc.Stop()

	// The changes, paced: as many started as are due by now (a tick the
	// scheduler was late for is made up at the next), each on its own
	// goroutine so a slow answer does not slow the pace.
	var sent, failed atomic.Int64
	var wg sync.WaitGroup
	var errOnce sync.Once
	total := int(float64(perSecond) * d.Seconds())
	tick := time.NewTicker(5 * time.Millisecond)
	start := time.Now()
	stopProgress := showProgress(progress, "events", func() (int64, int64, time.Duration) {
		return sent.Load(), failed.Load(), time.Since(start)
	})
	for i := 0; i < total && ctx.Err() == nil; {
		<-tick.C
		due := min(total, int(time.Since(start).Seconds()*float64(perSecond)))
		for ; i < due; i++ {
			n := i // i moves on before the goroutine reads it
			wg.Go(func() {
				id := t.ids[n%len(t.ids)]
				err := a.do(ctx, call{method: "PATCH", path: "/v1/admin/accounts/" + id,
					token: operatorToken, tenant: t.code, body: map[string]string{"displayName": fmt.Sprintf("Bench change %d", n)}}, nil)
				if err != nil {
					failed.Add(1)
					errOnce.Do(func() { s.firstErr = err })
					return
				}
				sent.Add(1)
			})
		}
	}
	tick.Stop()
	wg.Wait()
	stopProgress()
	s.sent, s.failed = int(sent.Load()), int(failed.Load())
	// The last changes' events: wait until all are in, 10 s at most.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		mu.Lock()
		n := len(lats)
		mu.Unlock()
		if n >= s.sent {
			break
		}
	}
	mu.Lock()
	s.lats = slices.Clone(lats)
	mu.Unlock()
	slices.Sort(s.lats)
	s.recv = len(s.lats)
	return s, nil
}
