// Package server wires and runs the recovery service; cmd/recoveryd, the
// all-in-one binary and the end-to-end tests start it through Run.
package server

import (
	"context"

	"github.com/latchkey/latchkey/libs/config"
	"github.com/latchkey/latchkey/libs/infra"
	"github.com/latchkey/latchkey/services/recovery/internal/grpcapi"
)

// Name is the service's name: its schema, SQLite file and NATS name.
const Name = "recovery"

// Config is what the service needs to run.
type Config struct {
	infra.Settings
}

// ConfigFromEnv reads the settings of the service binary (recoveryd).
func ConfigFromEnv(l *config.Loader) Config {
	return Config{Settings: infra.SettingsFromEnv(l, Name, true)}
}

// Service is what infra opens for the recovery service. It has no tables of
// its own yet: its use cases are not built, and every RPC answers
// Unimplemented.
var Service = infra.Service{Name: Name}

// Run migrates the database, then serves gRPC until ctx is cancelled.
func Run(ctx context.Context, cfg Config) error {
	cfg.Settings = cfg.Settings.WithDefaults()
	in, err := infra.Open(ctx, Service, cfg.Settings)
	if err != nil {
		return err
	}
	defer in.Close()
	return in.Serve(ctx, Name, cfg.Settings, infra.API{
		Public:   grpcapi.RegisterPublic,
		Internal: grpcapi.RegisterInternal,
		Callers:  grpcapi.Callers,
	})
}

// Migrate applies the service's migrations and returns.
func Migrate(ctx context.Context, cfg Config) error {
	return infra.MigrateOnly(ctx, Service, cfg.Settings)
}
