// Command eventconsumer is an example subscriber to Latchkey's events, to
// copy from: it imports only nats.go and the event types
// (github.com/latchkey/latchkey/proto/gen), none of Latchkey's own code.
//
//	go run ./cmd/eventconsumer -nats nats://127.0.0.1:4250 -durable my-audit -filter 'latchkey.events.v1.account.>'
//
// It creates its own durable consumer on the events stream (or takes it up
// where it left off), decodes each event by its Latchkey-Event-Type
// header, skips the event ids it has handled (events arrive at least
// once), prints the event as JSON and acknowledges it. docs/events.md is
// the catalog of events.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protojson"
)

func main() {
	url := flag.String("nats", nats.DefaultURL, "NATS server URL (the all-in-one's embedded NATS: nats://127.0.0.1:4250)")
	stream := flag.String("stream", "LATCHKEY_EVENTS", "the events stream (with the deployment's LATCHKEY_NATS_PREFIX, if any)")
	durable := flag.String("durable", "", "your own durable consumer name (required; not one of those docs/events.md lists)")
	filter := flag.String("filter", "latchkey.events.v1.>", "subjects to read")
	flag.Parse()
	if *durable == "" {
		fmt.Fprintln(os.Stderr, "eventconsumer: -durable is required: the name of this subscriber's own consumer")
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	nc, err := nats.Connect(*url, nats.Name("eventconsumer "+*durable), nats.MaxReconnects(-1))
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		log.Fatal(err)
	}
	err = Consume(ctx, js, Config{Stream: *stream, Durable: *durable, Filter: *filter}, func(_ context.Context, ev Event) error {
		body, err := protojson.Marshal(ev.Message)
		if err != nil {
			return err
		}
		fmt.Printf("%s %s %s\n", ev.Meta.GetOccurTime().AsTime().Format("2006-01-02T15:04:05.000Z07:00"), ev.Type, body)
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
}
