// Package server wires and runs the credential service; cmd/credentiald,
// the all-in-one binary and the end-to-end tests start it through Run.
package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/config"
	"github.com/latchkey/latchkey/libs/grpcx"
	"github.com/latchkey/latchkey/libs/infra"
	"github.com/latchkey/latchkey/libs/outbox"
	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
	mfav1 "github.com/latchkey/latchkey/proto/gen/latchkey/mfa/v1"
	recoveryv1 "github.com/latchkey/latchkey/proto/gen/latchkey/recovery/v1"
	"github.com/latchkey/latchkey/services/credential/internal/app"
	"github.com/latchkey/latchkey/services/credential/internal/grpcapi"
	"github.com/latchkey/latchkey/services/credential/internal/password"
	"github.com/latchkey/latchkey/services/credential/internal/peers"
	"github.com/latchkey/latchkey/services/credential/internal/store/sqlstore"
	"github.com/latchkey/latchkey/services/credential/internal/token"
)

// Name is the service's name: its schema, SQLite file and NATS name.
const Name = "credential"

// Config is what the service needs to run.
type Config struct {
	// GRPCAddr is where the service listens, unless Listener is set.
	GRPCAddr    string
	Listener    net.Listener
	PostgresURL string
	DataDir     string
	NATS        *nats.Conn
	NATSURL     string
	// The peers' gRPC addresses.
	AccountAddr, MFAAddr, RecoveryAddr string
	Tuning
	OperatorTokens *authn.OperatorTokens
	Clock          clock.Clock
	Logger         *slog.Logger
	Registerer     prometheus.Registerer
}

// Tuning is how the service hashes and signs: the same whether it runs on
// its own or in the all-in-one binary.
type Tuning struct {
	// Token names the access tokens' issuer, audience and lifetime; the
	// same on every service that verifies them.
	Token authn.TokenConfig
	// RotateEvery is the age at which the signing key is replaced.
	RotateEvery time.Duration
	// Hash is the Argon2id parameters and HashPool the number of hashes
	// computed at once (0: one per core).
	Hash     password.Params
	HashPool int
	// BreachedFile is a local list of SHA-1 hashes of breached passwords
	// (Have I Been Pwned format); empty: no breach check.
	BreachedFile string
}

// TuningFromEnv reads the Tuning settings.
func TuningFromEnv(l *config.Loader) Tuning {
	p := password.DefaultParams
	p.Memory = uint32(l.Int("LATCHKEY_ARGON2_MEMORY_KIB", int(p.Memory), "Argon2id memory per password hash, KiB"))
	p.Time = uint32(l.Int("LATCHKEY_ARGON2_TIME", int(p.Time), "Argon2id passes"))
	p.Threads = uint8(l.Int("LATCHKEY_ARGON2_THREADS", int(p.Threads), "Argon2id lanes"))
	return Tuning{
		Token:        authn.TokenConfigFromEnv(l),
		RotateEvery:  l.Duration("LATCHKEY_SIGNING_KEY_ROTATE_EVERY", token.DefaultRotateEvery, "age at which the access-token signing key is replaced"),
		Hash:         p,
		HashPool:     l.Int("LATCHKEY_HASH_POOL", 0, "password hashes computed at once (0: one per core); memory bound = pool × Argon2 memory"),
		BreachedFile: l.String("LATCHKEY_BREACHED_PASSWORDS_FILE", "", "local file of SHA-1 hashes of breached passwords (HIBP format); empty: no breach check"),
	}
}

// ConfigFromEnv reads the service's settings from the environment.
func ConfigFromEnv(l *config.Loader) Config {
	return Config{
		GRPCAddr:       l.String("LATCHKEY_CREDENTIAL_GRPC_ADDR", "127.0.0.1:7002", "credential service: gRPC listen address"),
		PostgresURL:    l.Secret("LATCHKEY_POSTGRES_URL", "PostgreSQL URL; empty: SQLite files in LATCHKEY_DATA_DIR"),
		DataDir:        l.String("LATCHKEY_DATA_DIR", "./.latchkey", "data directory (SQLite files)"),
		NATSURL:        l.String("LATCHKEY_NATS_URL", "nats://127.0.0.1:4222", "NATS server with JetStream"),
		AccountAddr:    l.String("LATCHKEY_ACCOUNT_ADDR", "127.0.0.1:7001", "gRPC address of the account service"),
		MFAAddr:        l.String("LATCHKEY_MFA_ADDR", "127.0.0.1:7004", "gRPC address of the mfa service"),
		RecoveryAddr:   l.String("LATCHKEY_RECOVERY_ADDR", "127.0.0.1:7003", "gRPC address of the recovery service"),
		Tuning:         TuningFromEnv(l),
		OperatorTokens: authn.NewOperatorTokens(l.Secret("LATCHKEY_OPERATOR_TOKEN", "operator API token")),
	}
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
	if cfg.Hash == (password.Params{}) {
		cfg.Hash = password.DefaultParams
	}
	cfg.Token = cfg.Token.WithDefaults()
	log := cfg.Logger.With("service", Name)

	in, err := infra.Open(ctx, infra.Config{Name: Name, PostgresURL: cfg.PostgresURL, DataDir: cfg.DataDir,
		Migrate: sqlstore.Migrate, NATS: cfg.NATS, NATSURL: cfg.NATSURL, Listener: cfg.Listener, GRPCAddr: cfg.GRPCAddr})
	if err != nil {
		return err
	}
	defer in.Close()
	db, js, lis := in.DB, in.JS, in.Listener

	var conns []*grpc.ClientConn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	dial := func(addr string) (*grpc.ClientConn, error) {
		c, err := grpcx.Dial(addr, grpcx.DialOptions{Registerer: cfg.Registerer})
		if err == nil {
			conns = append(conns, c)
		}
		return c, err
	}
	accountConn, err := dial(cfg.AccountAddr)
	if err != nil {
		return err
	}
	mfaConn, err := dial(cfg.MFAAddr)
	if err != nil {
		return err
	}
	recoveryConn, err := dial(cfg.RecoveryAddr)
	if err != nil {
		return err
	}

	box := outbox.New(db, cfg.Clock, Name)
	st := sqlstore.New(db, box)
	issuer, err := token.NewIssuer(st.Keys(), cfg.Clock, token.Options{Issuer: cfg.Token.Issuer, Audience: cfg.Token.Audience,
		AccessTTL: cfg.Token.AccessTTL, RotateEvery: cfg.RotateEvery, Logger: log})
	if err != nil {
		return err
	}
	if err := issuer.Start(ctx); err != nil {
		return err
	}
	checker := &password.Checker{}
	if cfg.BreachedFile != "" {
		if checker.Breached, err = password.LoadBreached(cfg.BreachedFile); err != nil {
			return err
		}
	}
	use := app.New(app.Deps{
		Store: st, Clock: cfg.Clock,
		Hasher: password.NewHasher(cfg.Hash, cfg.HashPool), Checker: checker, Issuer: issuer,
		Accounts: peers.NewAccounts(accountv1.NewAccountInternalServiceClient(accountConn)),
		Factors:  peers.NewMFA(mfav1.NewMfaInternalServiceClient(mfaConn)),
		Recovery: peers.NewRecovery(recoveryv1.NewRecoveryInternalServiceClient(recoveryConn)),
	})

	// The service verifies its own access tokens with its own keys, and
	// refuses those of revoked sessions.
	deny := authn.NewDenylist(cfg.Clock)
	verifier, err := authn.NewVerifier(authn.VerifierOptions{Issuer: cfg.Token.Issuer, Audience: cfg.Token.Audience,
		Keys: issuer, Clock: cfg.Clock, Denylist: deny})
	if err != nil {
		return err
	}
	auth := &authn.Authenticator{Operators: cfg.OperatorTokens, Tokens: verifier}

	g, gctx := errgroup.WithContext(ctx)
	// Caught up with past revocations before the first call is served.
	if err := authn.FollowRevocations(gctx, js, deny, authn.FollowOptions{Logger: log, Lookback: issuer.AccessTTL()}); err != nil {
		return err
	}
	g.Go(func() error { return box.NewRelay(js, outbox.RelayOptions{Logger: log}).Run(gctx) })
	g.Go(func() error {
		return grpcx.Run(gctx, lis, "", grpcx.ServerOptions{Logger: log, Registerer: cfg.Registerer},
			func(s *grpc.Server) { grpcapi.Register(s, use, issuer) },
			grpc.ChainUnaryInterceptor(auth.UnaryInterceptor()))
	})
	if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// Migrate applies the service's migrations and returns.
func Migrate(ctx context.Context, cfg Config) error {
	return infra.Migrate(ctx, infra.Config{Name: Name, PostgresURL: cfg.PostgresURL, DataDir: cfg.DataDir, Migrate: sqlstore.Migrate})
}
