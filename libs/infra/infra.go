// Package infra opens what a stateful service runs on, the same way for
// every service: its database (migrated), NATS with the Latchkey streams,
// and its gRPC listener. What a service does with them stays in its own
// server package.
package infra

import (
	"context"
	"net"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/grpcx"
	"github.com/latchkey/latchkey/libs/natsx"
)

// Config says where a service's infrastructure is.
type Config struct {
	// Name is the service's name: its schema, SQLite file and NATS name.
	Name string
	// PostgresURL selects PostgreSQL; empty selects SQLite in DataDir.
	PostgresURL string
	DataDir     string
	// Migrate brings the database's schema up to date.
	Migrate func(context.Context, dbx.DB) error
	// NATS is a connection to share; when nil one is made to NATSURL.
	NATS    *nats.Conn
	NATSURL string
	// Listener is used when set; otherwise one is opened on GRPCAddr.
	Listener net.Listener
	GRPCAddr string
}

// Infra is a service's open infrastructure.
type Infra struct {
	DB       dbx.DB
	NATS     *nats.Conn
	JS       jetstream.JetStream
	Listener net.Listener

	closers []func()
}

// Open opens the database and migrates it, connects to NATS and ensures
// the streams, and opens the listener. On error, what was opened is closed.
func Open(ctx context.Context, cfg Config) (_ *Infra, err error) {
	in := &Infra{}
	defer func() {
		if err != nil {
			in.Close()
		}
	}()
	if in.DB, err = dbx.Open(ctx, cfg.PostgresURL, cfg.DataDir, cfg.Name); err != nil {
		return nil, err
	}
	in.closers = append(in.closers, in.DB.Close)
	if cfg.Migrate != nil {
		if err = cfg.Migrate(ctx, in.DB); err != nil {
			return nil, err
		}
	}
	if in.NATS = cfg.NATS; in.NATS == nil {
		if in.NATS, err = natsx.Connect(ctx, cfg.NATSURL, cfg.Name); err != nil {
			return nil, err
		}
		in.closers = append(in.closers, in.NATS.Close)
	}
	if in.JS, err = natsx.NewJetStream(in.NATS); err != nil {
		return nil, err
	}
	if err = natsx.EnsureStreams(ctx, in.JS); err != nil {
		return nil, err
	}
	if in.Listener, err = grpcx.Listen(cfg.Listener, cfg.GRPCAddr); err != nil {
		return nil, err
	}
	return in, nil
}

// Close closes what Open opened (not a shared NATS connection, nor the
// listener, which the gRPC server closes).
func (in *Infra) Close() {
	for i := len(in.closers) - 1; i >= 0; i-- {
		in.closers[i]()
	}
	in.closers = nil
}

// Migrate opens the service's database, brings its schema up to date and
// closes it: what `latchkey migrate` does before a rollout.
func Migrate(ctx context.Context, cfg Config) error {
	db, err := dbx.Open(ctx, cfg.PostgresURL, cfg.DataDir, cfg.Name)
	if err != nil {
		return err
	}
	defer db.Close()
	return cfg.Migrate(ctx, db)
}
