// Package server wires and runs the recovery service; cmd/recoveryd, the
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
	"github.com/latchkey/latchkey/libs/outbox"
	"github.com/latchkey/latchkey/libs/passhash"
	credentialv1 "github.com/latchkey/latchkey/proto/gen/latchkey/credential/v1"
	accountinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/account/v1"
	credentialinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/credential/v1"
	mfainternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/mfa/v1"
	"github.com/latchkey/latchkey/services/recovery/internal/app"
	"github.com/latchkey/latchkey/services/recovery/internal/consumers"
	"github.com/latchkey/latchkey/services/recovery/internal/grpcapi"
	"github.com/latchkey/latchkey/services/recovery/internal/peers"
	"github.com/latchkey/latchkey/services/recovery/internal/recovery"
	"github.com/latchkey/latchkey/services/recovery/internal/store/sqlstore"
	"github.com/latchkey/latchkey/services/recovery/migrations"
)

// Name is the service's name: its schema, SQLite file and NATS name.
const Name = "recovery"

// Config is what the service needs to run.
type Config struct {
	infra.Settings
	// The peers' internal gRPC addresses. E-mail goes to the notification
	// service through its work queue (the outbox), so no address of its is
	// needed.
	AccountAddr, CredentialAddr, MFAAddr string
	// Token names the access tokens the service accepts.
	Token authn.TokenConfig
	// OperatorTokens admit operator API calls.
	OperatorTokens *authn.OperatorTokens
	Tuning
	// Poll is the longest the reset worker waits without a wake-up
	// (default 1s); tests shorten it.
	Poll time.Duration
}

// Tuning is how the service behaves, the same whether it runs on its own
// or in the all-in-one binary.
type Tuning struct {
	// ActivationTTL and ResetTTL are how long e-mailed links work.
	ActivationTTL, ResetTTL time.Duration
	// MaxVerifyTries is how many wrong codes or answers one reset link
	// takes before it is void.
	MaxVerifyTries int
	// Hash is how security answers are hashed (the shared Argon2id
	// settings).
	Hash passhash.Settings
}

// TuningFromEnv reads the Tuning settings.
func TuningFromEnv(l *config.Loader) Tuning {
	t := Tuning{
		ActivationTTL:  l.Duration("LATCHKEY_ACTIVATION_LINK_TTL", recovery.DefaultActivationTTL, "how long an activation link works"),
		ResetTTL:       l.Duration("LATCHKEY_RESET_LINK_TTL", recovery.DefaultResetTTL, "how long a password reset link works"),
		MaxVerifyTries: l.Int("LATCHKEY_RESET_MAX_VERIFY_TRIES", recovery.DefaultMaxVerifyTries, "wrong codes or security answers one reset link takes before it is void (each also counts as a failed log-in)"),
		Hash:           passhash.SettingsFromEnv(l),
	}
	if t.ActivationTTL <= 0 {
		l.Invalid("LATCHKEY_ACTIVATION_LINK_TTL", errors.New("must be positive"))
	}
	if t.ResetTTL <= 0 {
		l.Invalid("LATCHKEY_RESET_LINK_TTL", errors.New("must be positive"))
	}
	if t.MaxVerifyTries < 1 {
		l.Invalid("LATCHKEY_RESET_MAX_VERIFY_TRIES", errors.New("must be at least 1"))
	}
	return t
}

// ConfigFromEnv reads the settings of the service binary (recoveryd).
func ConfigFromEnv(l *config.Loader) Config {
	return Config{
		Settings:       infra.SettingsFromEnv(l, Name, true),
		AccountAddr:    infra.PeerAddr(l, "account"),
		CredentialAddr: infra.PeerAddr(l, "credential"),
		MFAAddr:        infra.PeerAddr(l, "mfa"),
		Token:          authn.TokenConfigFromEnv(l),
		OperatorTokens: authn.NewOperatorTokens(authn.OperatorTokenFromEnv(l)),
		Tuning:         TuningFromEnv(l),
	}
}

// Service is what infra opens for the recovery service.
var Service = infra.Service{Name: Name, Migrations: migrations.FS}

// Run migrates the database, then serves gRPC, consumes the account and
// credential events that issue or void links, resolves forgot-password
// requests and relays the outbox, until ctx is cancelled.
func Run(ctx context.Context, cfg Config) error {
	cfg.Settings = cfg.Settings.WithDefaults()
	if cfg.Hash.Params == (passhash.Params{}) {
		cfg.Hash.Params = passhash.DefaultParams
	}
	if err := cfg.Hash.Params.Validate(); err != nil {
		return err
	}
	log := cfg.Logger.With("service", Name)

	in, err := infra.Open(ctx, Service, cfg.Settings)
	if err != nil {
		return err
	}
	defer in.Close()

	// Every reset resolves its account and ends in a new password: not
	// ready without account and credential.
	accountConn, err := in.DialRequired(cfg.Settings, "account", cfg.AccountAddr)
	if err != nil {
		return err
	}
	credConn, err := in.DialRequired(cfg.Settings, "credential", cfg.CredentialAddr)
	if err != nil {
		return err
	}
	mfaConn, err := in.Dial(cfg.Settings, "mfa", cfg.MFAAddr)
	if err != nil {
		return err
	}

	box := outbox.New(in.DB, cfg.Clock, Name)
	st := sqlstore.New(in.DB, box)
	hasher := cfg.Hash.NewHasher()
	if err := hasher.Register(cfg.Registerer, Name); err != nil {
		return err
	}
	use := app.New(app.Deps{
		Store: st, Clock: cfg.Clock, Hasher: hasher,
		Accounts:    peers.NewAccounts(accountinternalv1.NewAccountInternalServiceClient(accountConn)),
		Credentials: peers.NewCredentials(credentialinternalv1.NewCredentialInternalServiceClient(credConn)),
		Factors:     peers.NewMFA(mfainternalv1.NewMfaInternalServiceClient(mfaConn)),
	}, app.Options{ActivationTTL: cfg.ActivationTTL, ResetTTL: cfg.ResetTTL, MaxVerifyTries: cfg.MaxVerifyTries,
		Poll: cfg.Poll, Logger: log})

	g, gctx := errgroup.WithContext(ctx)
	// Access tokens are verified with the keys the credential service
	// publishes.
	auth, err := authn.NewServerAuthenticator(gctx, in.JS, authn.ServerOptions{
		Names: in.Names, Token: cfg.Token, Operators: cfg.OperatorTokens, Clock: cfg.Clock, Logger: log,
		Keys: authn.NewCachedKeys(authn.CredentialJWKS(credentialv1.NewAuthServiceClient(credConn)), authn.CachedKeysOptions{}),
		// While the revocation feed is behind, the credential service
		// decides.
		Sessions: authn.CredentialSessions(credentialinternalv1.NewCredentialInternalServiceClient(credConn)),
	})
	if err != nil {
		return err
	}
	g.Go(func() error { return in.Relay(box, outbox.RelayOptions{Logger: log}).Run(gctx) })
	for _, c := range consumers.All(use, st.Bind) {
		c.Config.Clock, c.Config.Logger = cfg.Clock, log
		g.Go(func() error { return in.Consume(gctx, c.Config, c.Handler) })
	}
	g.Go(func() error { return use.RunWorker(gctx) })
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

// Migrate applies the service's migrations and returns.
func Migrate(ctx context.Context, cfg Config) error {
	return infra.MigrateOnly(ctx, Service, cfg.Settings)
}
