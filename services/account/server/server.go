// Package server wires and runs the account service. The production binary
// (cmd/accountd), the all-in-one binary and the end-to-end tests all start
// the service through Run, so tests exercise the real wiring.
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
	credentialv1 "github.com/latchkey/latchkey/proto/gen/latchkey/credential/v1"
	credentialinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/credential/v1"
	mfainternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/mfa/v1"
	recoveryinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/recovery/v1"
	"github.com/latchkey/latchkey/services/account/internal/app"
	"github.com/latchkey/latchkey/services/account/internal/consumers"
	"github.com/latchkey/latchkey/services/account/internal/grpcapi"
	"github.com/latchkey/latchkey/services/account/internal/peers"
	"github.com/latchkey/latchkey/services/account/internal/store/sqlstore"
	"github.com/latchkey/latchkey/services/account/migrations"
)

// Name is the service's name: its PostgreSQL schema, its SQLite file and
// its NATS connection name.
const Name = "account"

// Config is what the service needs to run.
type Config struct {
	infra.Settings
	// CredentialAddr is the credential service's internal gRPC address.
	CredentialAddr string
	// MFAAddr and RecoveryAddr are the internal gRPC addresses of the mfa
	// and recovery services, which GET /v1/me asks.
	MFAAddr, RecoveryAddr string
	// Token names the access tokens the service accepts.
	Token authn.TokenConfig
	// OperatorTokens admit operator API calls.
	OperatorTokens *authn.OperatorTokens
	Tuning
}

// ConfigFromEnv reads the settings of the service binary (accountd).
func ConfigFromEnv(l *config.Loader) Config {
	return Config{
		Settings:       infra.SettingsFromEnv(l, Name, true),
		CredentialAddr: infra.PeerAddr(l, "credential"),
		MFAAddr:        infra.PeerAddr(l, "mfa"),
		RecoveryAddr:   infra.PeerAddr(l, "recovery"),
		Token:          authn.TokenConfigFromEnv(l),
		OperatorTokens: authn.NewOperatorTokens(authn.OperatorTokenFromEnv(l)),
		Tuning:         TuningFromEnv(l),
	}
}

// Tuning is how the service behaves, the same whether it runs on its own
// or in the all-in-one binary.
type Tuning struct {
	// UsernameReuseDays is how many days a username an account gave up
	// stays reserved from other accounts; 0: the default, 30; negative:
	// not reserved at all.
	UsernameReuseDays int
	// InactivitySweepEvery is how often the inactivity lock sweeps (and
	// once at start); 0: the default, 1h; negative: never (tests, or a
	// deployment that triggers AccountInternalService.SweepInactive
	// itself).
	InactivitySweepEvery time.Duration
	// Operator, when its e-mail is set, is the platform's first operator
	// account, made on first start with a temporary password written to
	// <DataDir>/operator-password.
	Operator app.OperatorAccount
}

// TuningFromEnv reads the Tuning settings.
func TuningFromEnv(l *config.Loader) Tuning {
	return Tuning{
		UsernameReuseDays: reuseDays(l.Int("LATCHKEY_USERNAME_REUSE_DAYS", DefaultUsernameReuseDays,
			"days a username an account gave up stays reserved from other accounts of the tenant (0: not reserved)")),
		InactivitySweepEvery: l.Duration("LATCHKEY_INACTIVITY_SWEEP_EVERY", DefaultInactivitySweepEvery,
			"how often the account service locks accounts inactive for their tenant's inactivityLockDays (also once at start)"),
		Operator: operatorFromEnv(l),
	}
}

func operatorFromEnv(l *config.Loader) app.OperatorAccount {
	op := app.OperatorAccount{
		TenantCode: l.String("LATCHKEY_PLATFORM_TENANT", "platform", "code of the platform's own tenant, where operator accounts live"),
		Email:      l.String("LATCHKEY_OPERATOR_EMAIL", "", "e-mail of the first operator account, made on first start with a temporary password in <data dir>/operator-password (empty: none; operator tokens only)"),
		Username:   l.String("LATCHKEY_OPERATOR_USERNAME", "", "username of the first operator account (empty: its e-mail address)"),
	}
	if op.Username == "" {
		op.Username = op.Email
	}
	return op
}

// Defaults of the account service's settings.
const (
	DefaultUsernameReuseDays    = 30
	DefaultInactivitySweepEvery = time.Hour
)

// reuseDays maps the setting, where 0 means "not reserved", to the Config
// field, where 0 means "the default".
func reuseDays(days int) int {
	if days == 0 {
		return -1
	}
	return days
}

// Service is what infra opens for the account service.
var Service = infra.Service{Name: Name, Migrations: migrations.FS}

// Run migrates the database, then serves gRPC and relays the outbox until
// ctx is cancelled.
func Run(ctx context.Context, cfg Config) error {
	cfg.Settings = cfg.Settings.WithDefaults()
	log := cfg.Logger.With("service", Name)

	if cfg.OperatorTokens.Len() == 0 {
		// No token configured: the first start makes one, so an operator
		// can always get in.
		token, path, created, err := authn.LoadOrCreateOperatorToken(cfg.DataDir)
		if err != nil {
			return err
		}
		cfg.OperatorTokens = authn.NewOperatorTokens(token)
		log.Info("operator token", "path", path, "generated", created)
	}
	in, err := infra.Open(ctx, Service, cfg.Settings)
	if err != nil {
		return err
	}
	defer in.Close()

	// The account service is ready on its own database alone: the other
	// services require it (infra.DialRequired), and required peers must
	// not run in a circle, or no replica of either would become ready.
	credConn, err := in.Dial(cfg.Settings, "credential", cfg.CredentialAddr)
	if err != nil {
		return err
	}
	mfaConn, err := in.Dial(cfg.Settings, "mfa", cfg.MFAAddr)
	if err != nil {
		return err
	}
	recoveryConn, err := in.Dial(cfg.Settings, "recovery", cfg.RecoveryAddr)
	if err != nil {
		return err
	}

	if cfg.UsernameReuseDays == 0 {
		cfg.UsernameReuseDays = DefaultUsernameReuseDays
	}
	if cfg.InactivitySweepEvery == 0 {
		cfg.InactivitySweepEvery = DefaultInactivitySweepEvery
	}
	box := outbox.New(in.DB, cfg.Clock, Name)
	st := sqlstore.New(in.DB, box)
	// Rows folded before usernames were compared in their PRECIS form:
	// rewritten before the first log-in looks them up.
	if err := st.RefoldLogins(ctx, log); err != nil {
		return err
	}
	metrics, err := app.NewMetrics(cfg.Registerer)
	if err != nil {
		return err
	}
	use := app.New(st, cfg.Clock, peers.NewCredentials(credentialinternalv1.NewCredentialInternalServiceClient(credConn)), app.Options{
		UsernameReuse: time.Duration(max(cfg.UsernameReuseDays, 0)) * 24 * time.Hour,
		Logger:        log,
		Metrics:       metrics,
		Factors:       peers.NewMFA(mfainternalv1.NewMfaInternalServiceClient(mfaConn)),
		Recovery:      peers.NewRecovery(recoveryinternalv1.NewRecoveryInternalServiceClient(recoveryConn)),
	})

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
	// Last log-ins come from the credential service's events.
	loginCfg, onLogin := consumers.LoginSucceeded(use, st.Bind)
	loginCfg.Clock, loginCfg.Logger = cfg.Clock, log
	g.Go(func() error { return in.Consume(gctx, loginCfg, onLogin) })
	if cfg.Operator.Email != "" {
		g.Go(func() error { use.RunOperatorBootstrap(gctx, cfg.Operator, cfg.DataDir); return nil })
	}
	// Idempotency keys of create calls are kept a day (libs/idempotency).
	g.Go(func() error { use.RunIdempotencyPruner(gctx, time.Hour); return nil })
	if cfg.InactivitySweepEvery > 0 {
		g.Go(func() error { use.RunSweeper(gctx, cfg.InactivitySweepEvery); return nil })
	}
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

// OperatorPasswordFile is where the first operator's temporary password is
// written, in the data directory.
const OperatorPasswordFile = app.OperatorPasswordFile
