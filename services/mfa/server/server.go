// Package server wires and runs the mfa service; cmd/mfad, the
// all-in-one binary and the end-to-end tests start it through Run.
package server

import (
	"context"
	"errors"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/config"
	"github.com/latchkey/latchkey/libs/infra"
	"github.com/latchkey/latchkey/libs/keyring"
	"github.com/latchkey/latchkey/libs/outbox"
	"github.com/latchkey/latchkey/libs/passhash"
	credentialv1 "github.com/latchkey/latchkey/proto/gen/latchkey/credential/v1"
	accountinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/account/v1"
	credentialinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/credential/v1"
	notificationinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/notification/v1"
	"github.com/latchkey/latchkey/services/mfa/internal/app"
	"github.com/latchkey/latchkey/services/mfa/internal/grpcapi"
	"github.com/latchkey/latchkey/services/mfa/internal/peers"
	"github.com/latchkey/latchkey/services/mfa/internal/store/sqlstore"
	"github.com/latchkey/latchkey/services/mfa/migrations"
)

// Name is the service's name: its schema, SQLite file and NATS name.
const Name = "mfa"

// Config is what the service needs to run.
type Config struct {
	infra.Settings
	// The peers' internal gRPC addresses: account (tenant policy, who an
	// account is), notification (the key e-mail) and credential (the
	// keys access tokens are verified with, and live sessions).
	AccountAddr, NotificationAddr, CredentialAddr string
	// Token names the access tokens the service accepts.
	Token authn.TokenConfig
	// OperatorTokens admit operator API calls (the admin reset).
	OperatorTokens *authn.OperatorTokens
	Tuning
	// Poll is the longest the key-request worker waits without a wake-up
	// (default 1s); tests shorten it.
	Poll time.Duration
}

// Tuning is how the service seals and hashes: the same whether it runs on
// its own or in the all-in-one binary.
type Tuning struct {
	// SecretKeys seal the TOTP secrets in the database (EnvSecretKeys);
	// Run refuses to start without them.
	SecretKeys *keyring.Ring
	// Hash is how recovery codes are hashed (the shared Argon2id
	// settings).
	Hash passhash.Settings
}

// TuningFromEnv reads the Tuning settings.
func TuningFromEnv(l *config.Loader) Tuning {
	return Tuning{SecretKeys: secretKeysFromEnv(l), Hash: passhash.SettingsFromEnv(l)}
}

// ConfigFromEnv reads the settings of the service binary (mfad).
func ConfigFromEnv(l *config.Loader) Config {
	requireSecretKeys(l)
	return Config{
		Settings:         infra.SettingsFromEnv(l, Name, true),
		AccountAddr:      infra.PeerAddr(l, "account"),
		NotificationAddr: infra.PeerAddr(l, "notification"),
		CredentialAddr:   infra.PeerAddr(l, "credential"),
		Token:            authn.TokenConfigFromEnv(l),
		OperatorTokens:   authn.NewOperatorTokens(authn.OperatorTokenFromEnv(l)),
		Tuning:           TuningFromEnv(l),
	}
}

// Service is what infra opens for the mfa service.
var Service = infra.Service{Name: Name, Migrations: migrations.FS}

// Run migrates the database, then serves gRPC, handles key requests and
// relays the outbox until ctx is cancelled.
func Run(ctx context.Context, cfg Config) error {
	cfg.Settings = cfg.Settings.WithDefaults()
	if cfg.Hash.Params == (passhash.Params{}) {
		cfg.Hash.Params = passhash.DefaultParams
	}
	if err := cfg.Hash.Params.Validate(); err != nil {
		return err
	}
	if cfg.SecretKeys == nil {
		return errSecretKeysRequired
	}
	log := cfg.Logger.With("service", Name)

	in, err := infra.Open(ctx, Service, cfg.Settings)
	if err != nil {
		return err
	}
	defer in.Close()

	// Tenants and accounts come from there: not ready without it.
	accountConn, err := in.DialRequired(cfg.Settings, "account", cfg.AccountAddr)
	if err != nil {
		return err
	}
	notificationConn, err := in.Dial(cfg.Settings, "notification", cfg.NotificationAddr)
	if err != nil {
		return err
	}
	credConn, err := in.Dial(cfg.Settings, "credential", cfg.CredentialAddr)
	if err != nil {
		return err
	}

	box := outbox.New(in.DB, cfg.Clock, Name)
	st := sqlstore.New(in.DB, box)
	hasher := cfg.Hash.NewHasher()
	if err := hasher.Register(cfg.Registerer, Name); err != nil {
		return err
	}
	use := app.New(st, cfg.Clock,
		peers.NewAccounts(accountinternalv1.NewAccountInternalServiceClient(accountConn)),
		peers.NewNotifications(notificationinternalv1.NewNotificationInternalServiceClient(notificationConn)),
		cfg.SecretKeys, hasher, app.Options{Poll: cfg.Poll, Logger: log})

	g, gctx := errgroup.WithContext(ctx)
	// Access tokens are verified with the keys the credential service
	// publishes; while the revocation feed is behind, it decides.
	auth, err := authn.NewServerAuthenticator(gctx, in.JS, authn.ServerOptions{
		Names: in.Names, Token: cfg.Token, Operators: cfg.OperatorTokens, Clock: cfg.Clock, Logger: log,
		Keys:     authn.NewCachedKeys(authn.CredentialJWKS(credentialv1.NewAuthServiceClient(credConn)), authn.CachedKeysOptions{}),
		Sessions: authn.CredentialSessions(credentialinternalv1.NewCredentialInternalServiceClient(credConn)),
	})
	if err != nil {
		return err
	}
	g.Go(func() error { return in.Relay(box, outbox.RelayOptions{Logger: log}).Run(gctx) })
	g.Go(func() error { return use.RunKeyWorker(gctx) })
	g.Go(func() error {
		return in.Serve(gctx, Name, cfg.Settings, infra.API{
			Public:   func(s grpc.ServiceRegistrar) { grpcapi.RegisterPublic(s, use) },
			Internal: func(s grpc.ServiceRegistrar) { grpcapi.RegisterInternal(s, use) },
			Callers:  grpcapi.Callers,
			Options:  []grpc.ServerOption{grpc.ChainUnaryInterceptor(auth.UnaryInterceptor())},
		})
	})
	if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// Migrate applies the service's migrations and returns; Run does the same
// at start, so this is for operators who migrate before a rollout.
func Migrate(ctx context.Context, cfg Config) error {
	return infra.MigrateOnly(ctx, Service, cfg.Settings)
}
