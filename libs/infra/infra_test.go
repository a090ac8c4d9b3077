package infra_test

import (
	"context"
	"testing"
	"testing/fstest"

	"github.com/latchkey/latchkey/libs/infra"
	"github.com/latchkey/latchkey/libs/natsx"
	"github.com/latchkey/latchkey/libs/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

func TestOpen_MigratesEnsuresStreamsListens(t *testing.T) {
	svc := infra.Service{Name: "svc", Migrations: fstest.MapFS{
		"sqlite/0001_things.sql":   {Data: []byte("CREATE TABLE things (id TEXT PRIMARY KEY);")},
		"postgres/0001_things.sql": {Data: []byte("CREATE TABLE things (id TEXT PRIMARY KEY);")},
	}}
	in, err := infra.Open(context.Background(), svc, infra.Settings{
		DataDir: t.TempDir(), NATSURL: testkit.NATS(t).URL, GRPCAddr: "127.0.0.1:0",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	defer in.Listener.Close()
	// The outbox's, the inbox's and the service's own tables are there.
	for _, table := range []string{"outbox_events", "inbox_processed", "things"} {
		if _, err := in.DB.Exec(context.Background(), "SELECT count(*) FROM "+table); err != nil {
			t.Errorf("table %s: %v", table, err)
		}
	}
	if _, err := in.JS.Stream(context.Background(), natsx.EventsStreamName); err != nil {
		t.Fatalf("events stream: %v", err)
	}
	if in.Listener.Addr().String() == "" {
		t.Fatal("no listener")
	}
}
