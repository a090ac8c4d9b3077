package infra_test

import (
	"context"
	"testing"

	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/infra"
	"github.com/latchkey/latchkey/libs/natsx"
	"github.com/latchkey/latchkey/libs/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

func TestOpen_MigratesEnsuresStreamsListens(t *testing.T) {
	migrated := false
	in, err := infra.Open(context.Background(), infra.Config{
		Name: "svc", DataDir: t.TempDir(), NATSURL: testkit.NATS(t).URL, GRPCAddr: "127.0.0.1:0",
		Migrate: func(ctx context.Context, db dbx.DB) error { migrated = true; return db.Ping(ctx) },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	defer in.Listener.Close()
	if !migrated {
		t.Fatal("Migrate was not called")
	}
	if _, err := in.JS.Stream(context.Background(), natsx.EventsStreamName); err != nil {
		t.Fatalf("events stream: %v", err)
	}
	if in.Listener.Addr().String() == "" {
		t.Fatal("no listener")
	}
}
