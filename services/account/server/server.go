// Package server wires and runs the account service. The production binary
// (cmd/accountd), the all-in-one binary and the end-to-end tests all start
// the service through Run, so tests exercise the real wiring.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/config"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/grpcx"
	"github.com/latchkey/latchkey/libs/inbox"
	"github.com/latchkey/latchkey/libs/infra"
	"github.com/latchkey/latchkey/libs/outbox"
	credentialv1 "github.com/latchkey/latchkey/proto/gen/latchkey/credential/v1"
	"github.com/latchkey/latchkey/services/account/internal/app"
	"github.com/latchkey/latchkey/services/account/internal/consumers"
	"github.com/latchkey/latchkey/services/account/internal/grpcapi"
	"github.com/latchkey/latchkey/services/account/internal/peers"
	"github.com/latchkey/latchkey/services/account/internal/store/sqlstore"
)

// Name is the service's name: its PostgreSQL schema, its SQLite file and
// its NATS connection name.
const Name = "account"

// Config is what the service needs to run.
type Config struct {
	// GRPCAddr is where the service listens, unless Listener is set.
	GRPCAddr string
	Listener net.Listener
	// PostgresURL selects PostgreSQL (schema "account"); empty selects
	// SQLite in DataDir.
	PostgresURL string
	DataDir     string
	// NATS is a connection to use; when nil, one is made to NATSURL.
	NATS    *nats.Conn
	NATSURL string
	// CredentialAddr is the credential service's gRPC address.
	CredentialAddr string
	// Token names the access tokens the service accepts.
	Token authn.TokenConfig
	// OperatorTokens admit operator API calls.
	OperatorTokens *authn.OperatorTokens
	Tuning
	Clock      clock.Clock
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// ConfigFromEnv reads the service's settings from the environment.
func ConfigFromEnv(l *config.Loader) Config {
	return Config{
		GRPCAddr:       l.String("LATCHKEY_ACCOUNT_GRPC_ADDR", "127.0.0.1:7001", "account service: gRPC listen address"),
		PostgresURL:    l.Secret("LATCHKEY_POSTGRES_URL", "PostgreSQL URL; empty: SQLite files in LATCHKEY_DATA_DIR"),
		DataDir:        l.String("LATCHKEY_DATA_DIR", "./.latchkey", "data directory (SQLite files, embedded NATS, generated operator token)"),
		NATSURL:        l.String("LATCHKEY_NATS_URL", "nats://127.0.0.1:4222", "NATS server with JetStream"),
		CredentialAddr: l.String("LATCHKEY_CREDENTIAL_ADDR", "127.0.0.1:7002", "gRPC address of the credential service"),
		Token:          authn.TokenConfigFromEnv(l),
		OperatorTokens: authn.NewOperatorTokens(l.Secret("LATCHKEY_OPERATOR_TOKEN", "operator API token")),
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

// Run migrates the database, then serves gRPC and relays the outbox until
// ctx is cancelled.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	log := cfg.Logger.With("service", Name)

	in, err := infra.Open(ctx, infra.Config{Name: Name, PostgresURL: cfg.PostgresURL, DataDir: cfg.DataDir,
		Migrate: sqlstore.Migrate, NATS: cfg.NATS, NATSURL: cfg.NATSURL, Listener: cfg.Listener, GRPCAddr: cfg.GRPCAddr})
	if err != nil {
		return err
	}
	defer in.Close()
	db, js, lis := in.DB, in.JS, in.Listener

	credConn, err := grpcx.Dial(cfg.CredentialAddr, grpcx.DialOptions{Registerer: cfg.Registerer})
	if err != nil {
		return err
	}
	defer credConn.Close()

	if cfg.UsernameReuseDays == 0 {
		cfg.UsernameReuseDays = DefaultUsernameReuseDays
	}
	if cfg.InactivitySweepEvery == 0 {
		cfg.InactivitySweepEvery = DefaultInactivitySweepEvery
	}
	box := outbox.New(db, cfg.Clock, Name)
	st := sqlstore.New(db, box)
	use := app.New(st, cfg.Clock, peers.NewCredentials(credentialv1.NewCredentialInternalServiceClient(credConn)), app.Options{
		UsernameReuse: time.Duration(max(cfg.UsernameReuseDays, 0)) * 24 * time.Hour,
		Logger:        log,
	})
	// Access tokens are verified here, with the keys the credential
	// service publishes; tokens of revoked sessions are refused.
	cfg.Token = cfg.Token.WithDefaults()
	deny := authn.NewDenylist(cfg.Clock)
	verifier, err := authn.NewVerifier(authn.VerifierOptions{
		Issuer: cfg.Token.Issuer, Audience: cfg.Token.Audience, Clock: cfg.Clock, Denylist: deny,
		Keys: authn.NewCachedKeys(authn.CredentialJWKS(credentialv1.NewAuthServiceClient(credConn)), authn.CachedKeysOptions{}),
	})
	if err != nil {
		return err
	}
	auth := &authn.Authenticator{Operators: cfg.OperatorTokens, Tokens: verifier}

	g, gctx := errgroup.WithContext(ctx)
	if err := authn.FollowRevocations(gctx, js, deny, authn.FollowOptions{Logger: log, Lookback: cfg.Token.AccessTTL}); err != nil {
		return err
	}
	g.Go(func() error { return box.NewRelay(js, outbox.RelayOptions{Logger: log}).Run(gctx) })
	// Last log-ins come from the credential service's events.
	loginCfg, onLogin := consumers.LoginSucceeded(use, st.Bind)
	loginCfg.Clock, loginCfg.Logger = cfg.Clock, log
	g.Go(func() error { return inbox.Run(gctx, js, db, loginCfg, onLogin) })
	if cfg.Operator.Email != "" {
		g.Go(func() error { bootstrapOperator(gctx, use, cfg.Operator, cfg.DataDir, log); return nil })
	}
	if cfg.InactivitySweepEvery > 0 {
		g.Go(func() error { use.RunSweeper(gctx, cfg.InactivitySweepEvery); return nil })
	}
	g.Go(func() error {
		return grpcx.Run(gctx, lis, "", grpcx.ServerOptions{Logger: log, Registerer: cfg.Registerer},
			func(s *grpc.Server) { grpcapi.Register(s, use) },
			grpc.ChainUnaryInterceptor(auth.UnaryInterceptor()))
	})
	if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// Migrate applies the service's migrations and returns; Run does the same
// at start, so this is for operators who migrate before a rollout.
func Migrate(ctx context.Context, cfg Config) error {
	return infra.Migrate(ctx, infra.Config{Name: Name, PostgresURL: cfg.PostgresURL, DataDir: cfg.DataDir, Migrate: sqlstore.Migrate})
}

// OperatorPasswordFile is where the first operator's temporary password is
// written, in the data directory.
const OperatorPasswordFile = "operator-password"

// bootstrapOperator creates the first operator account, retrying while the
// credential service (which keeps its password) is not up yet.
func bootstrapOperator(ctx context.Context, use *app.App, op app.OperatorAccount, dataDir string, log *slog.Logger) {
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		pw, err := use.BootstrapOperator(ctx, op)
		if err == nil {
			if pw == "" {
				return
			}
			path := filepath.Join(dataDir, OperatorPasswordFile)
			text := fmt.Sprintf("tenant: %s\nusername: %s\ntemporary password: %s\n", op.TenantCode, op.Username, pw)
			if err := os.MkdirAll(dataDir, 0o700); err == nil {
				err = os.WriteFile(path, []byte(text), 0o600)
			}
			if err != nil {
				log.Error("operator account created, but its temporary password could not be written", "err", err)
				return
			}
			log.Info("operator account created; log in and change the temporary password", "tenant", op.TenantCode, "username", op.Username, "password_file", path)
			return
		}
		if errs.Is(err, errs.KindInvalid) || errs.Is(err, errs.KindConflict) {
			log.Error("operator account not created", "err", err)
			return
		}
		log.Warn("operator account: retrying", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}
