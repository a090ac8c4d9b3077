// Package server wires and runs the credential service; cmd/credentiald,
// the all-in-one binary and the end-to-end tests start it through Run.
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
	accountinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/account/v1"
	mfainternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/mfa/v1"
	recoveryinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/recovery/v1"
	"github.com/latchkey/latchkey/services/credential/internal/app"
	"github.com/latchkey/latchkey/services/credential/internal/consumers"
	"github.com/latchkey/latchkey/services/credential/internal/grpcapi"
	"github.com/latchkey/latchkey/services/credential/internal/password"
	"github.com/latchkey/latchkey/services/credential/internal/peers"
	"github.com/latchkey/latchkey/services/credential/internal/store/sqlstore"
	"github.com/latchkey/latchkey/services/credential/internal/token"
	"github.com/latchkey/latchkey/services/credential/migrations"
)

// Name is the service's name: its schema, SQLite file and NATS name.
const Name = "credential"

// Config is what the service needs to run.
type Config struct {
	infra.Settings
	// The peers' gRPC addresses.
	AccountAddr, MFAAddr, RecoveryAddr string
	// OperatorTokens admit operator API calls.
	OperatorTokens *authn.OperatorTokens
	Tuning
}

// Tuning is how the service hashes and signs: the same whether it runs on
// its own or in the all-in-one binary.
type Tuning struct {
	// Token names the access tokens' issuer, audience and lifetime; the
	// same on every service that verifies them.
	Token authn.TokenConfig
	// KEK seals the signing keys in the database (EnvSigningKeyKEK); Run
	// refuses to start without it.
	KEK *keyring.Ring
	// RotateEvery is the age at which the signing key is replaced.
	RotateEvery time.Duration
	// Hash is how passwords and PINs are hashed: the Argon2id cost, the
	// pool of hashes computed at once and the queue waiting for it.
	Hash passhash.Settings
	// BreachedFile is a local list of SHA-1 hashes of breached passwords
	// (Have I Been Pwned format); empty: no breach check.
	BreachedFile string
	// ExpiryWarningEvery is how often the service looks for passwords that
	// entered their tenant's expiry warning window, to e-mail "password
	// expires soon" once per expiry (and once at start); 0: the default,
	// 1h; negative: never.
	ExpiryWarningEvery time.Duration
	// SessionHistoryKeep is how long sessions and device keys are kept
	// after they end before the hourly prune deletes them (app.Prune,
	// which deletes refresh tokens and log-in tickets a day after they
	// expire); 0: the default, 90 days; negative: no prune at all.
	SessionHistoryKeep time.Duration
}

// DefaultExpiryWarningEvery is how often the expiry warnings are swept
// when Tuning.ExpiryWarningEvery is 0.
const DefaultExpiryWarningEvery = time.Hour

// DefaultSessionHistoryKeep is Tuning.SessionHistoryKeep's default: long
// enough that an account's devices of the last months still count as
// known to new-device notices.
const DefaultSessionHistoryKeep = 90 * 24 * time.Hour

// pruneEvery is how often ended sessions are pruned.
const pruneEvery = time.Hour

// TuningFromEnv reads the Tuning settings.
func TuningFromEnv(l *config.Loader) Tuning {
	return Tuning{
		Token:        authn.TokenConfigFromEnv(l),
		RotateEvery:  l.Duration("LATCHKEY_SIGNING_KEY_ROTATE_EVERY", token.DefaultRotateEvery, "age at which the access-token signing key is replaced"),
		KEK:          signingKeyKEKFromEnv(l),
		Hash:         passhash.SettingsFromEnv(l),
		BreachedFile: l.String("LATCHKEY_BREACHED_PASSWORDS_FILE", "", "local file of SHA-1 hashes of breached passwords (HIBP format); empty: no breach check"),
		ExpiryWarningEvery: l.Duration("LATCHKEY_PASSWORD_EXPIRY_WARNING_EVERY", DefaultExpiryWarningEvery,
			"how often the credential service e-mails \"password expires soon\" to passwords that entered their tenant's expiryWarningDays (also once at start; one replica at a time; negative: never)"),
		SessionHistoryKeep: l.Duration("LATCHKEY_SESSION_HISTORY_KEEP", DefaultSessionHistoryKeep,
			"how long ended sessions and revoked device keys are kept before the hourly prune deletes them (it deletes refresh tokens and log-in tickets a day after they expire; one replica at a time); a device whose sessions are gone counts as new again; negative: no prune"),
	}
}

// ConfigFromEnv reads the settings of the service binary (credentiald).
func ConfigFromEnv(l *config.Loader) Config {
	requireKEK(l)
	return Config{
		Settings:       infra.SettingsFromEnv(l, Name, true),
		AccountAddr:    infra.PeerAddr(l, "account"),
		MFAAddr:        infra.PeerAddr(l, "mfa"),
		RecoveryAddr:   infra.PeerAddr(l, "recovery"),
		OperatorTokens: authn.NewOperatorTokens(authn.OperatorTokenFromEnv(l)),
		Tuning:         TuningFromEnv(l),
	}
}

// Service is what infra opens for the credential service.
var Service = infra.Service{Name: Name, Migrations: migrations.FS}

// Run migrates the database, then serves gRPC and relays the outbox until
// ctx is cancelled.
func Run(ctx context.Context, cfg Config) error {
	cfg.Settings = cfg.Settings.WithDefaults()
	if cfg.Hash.Params == (passhash.Params{}) {
		cfg.Hash.Params = passhash.DefaultParams
	}
	cfg.Token = cfg.Token.WithDefaults()
	log := cfg.Logger.With("service", Name)

	if err := cfg.Hash.Params.Validate(); err != nil {
		return err
	}
	if cfg.KEK == nil {
		return errKEKRequired
	}
	in, err := infra.Open(ctx, Service, cfg.Settings)
	if err != nil {
		return err
	}
	defer in.Close()

	// Every log-in resolves its account there: not ready without it.
	accountConn, err := in.DialRequired(cfg.Settings, "account", cfg.AccountAddr)
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

	box := outbox.New(in.DB, cfg.Clock, Name)
	st := sqlstore.New(in.DB, box)
	issuer, err := token.NewIssuer(st.Keys(), cfg.Clock, token.Options{Issuer: cfg.Token.Issuer, Audience: cfg.Token.Audience,
		AccessTTL: cfg.Token.AccessTTL, RotateEvery: cfg.RotateEvery, KEK: cfg.KEK, Logger: log})
	if err != nil {
		return err
	}
	if err := issuer.Start(ctx); err != nil {
		return kekError(err)
	}
	checker := &password.Checker{}
	if cfg.BreachedFile != "" {
		if checker.Breached, err = password.LoadBreached(cfg.BreachedFile); err != nil {
			return err
		}
	}
	hasher := cfg.Hash.NewHasher()
	metrics, err := app.NewMetrics(cfg.Registerer)
	if err != nil {
		return err
	}
	if err := hasher.Register(cfg.Registerer, Name); err != nil {
		return err
	}
	use := app.New(app.Deps{
		Store: st, Clock: cfg.Clock, Metrics: metrics,
		Hasher: hasher, Checker: checker, Issuer: issuer,
		Accounts: peers.NewAccounts(accountinternalv1.NewAccountInternalServiceClient(accountConn)),
		Factors:  peers.NewMFA(mfainternalv1.NewMfaInternalServiceClient(mfaConn)),
		Recovery: peers.NewRecovery(recoveryinternalv1.NewRecoveryInternalServiceClient(recoveryConn)),
		Logger:   log,
	})
	if cfg.ExpiryWarningEvery == 0 {
		cfg.ExpiryWarningEvery = DefaultExpiryWarningEvery
	}

	g, gctx := errgroup.WithContext(ctx)
	// The service verifies its own access tokens with its own keys.
	auth, err := authn.NewServerAuthenticator(gctx, in.JS, authn.ServerOptions{
		Names: in.Names, Token: cfg.Token, Keys: issuer, Operators: cfg.OperatorTokens, Clock: cfg.Clock, Logger: log,
		// While the revocation feed is behind, its own store decides.
		Sessions: authn.SessionCheckerFunc(use.SessionLive),
	})
	if err != nil {
		return err
	}
	g.Go(func() error { return in.Relay(box, outbox.RelayOptions{Logger: log}).Run(gctx) })
	// A lock, a disable or a change of roles the account service could
	// not tell this service of at once still ends the account's sessions.
	for _, c := range consumers.SessionEnders(use, st.Bind) {
		c.Config.Clock, c.Config.Logger = cfg.Clock, log
		g.Go(func() error { return in.Consume(gctx, c.Config, c.Handler) })
	}
	if cfg.ExpiryWarningEvery > 0 {
		g.Go(func() error { use.RunExpiryWarnings(gctx, cfg.ExpiryWarningEvery); return nil })
	}
	if cfg.SessionHistoryKeep == 0 {
		cfg.SessionHistoryKeep = DefaultSessionHistoryKeep
	}
	if cfg.SessionHistoryKeep > 0 {
		g.Go(func() error { use.RunPrune(gctx, cfg.SessionHistoryKeep, pruneEvery); return nil })
	}
	g.Go(func() error {
		return in.Serve(gctx, Name, cfg.Settings, infra.API{
			Public:   func(s grpc.ServiceRegistrar) { grpcapi.RegisterPublic(s, use, issuer) },
			Internal: func(s grpc.ServiceRegistrar) { grpcapi.RegisterInternal(s, use, issuer) },
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
