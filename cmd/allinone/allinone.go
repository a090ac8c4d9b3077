// Package allinone runs every Latchkey service and the gateway in one
// process: what `latchkey run` (and `make run`) starts, and what the
// end-to-end tests start. By default it needs nothing installed: NATS runs
// embedded with JetStream on disk and each service keeps a SQLite file,
// all under one data directory. Given PostgreSQL and NATS URLs, it uses
// those instead.
package allinone

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/latchkey/latchkey/gateway"
	"github.com/latchkey/latchkey/gateway/ui"
	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/config"
	"github.com/latchkey/latchkey/libs/daemon"
	"github.com/latchkey/latchkey/libs/infra"
	"github.com/latchkey/latchkey/libs/mtls"
	"github.com/latchkey/latchkey/libs/natsauth"
	"github.com/latchkey/latchkey/libs/natsx"
	"github.com/latchkey/latchkey/libs/natsx/embedded"
	"github.com/latchkey/latchkey/libs/passhash"
	account "github.com/latchkey/latchkey/services/account/server"
	credential "github.com/latchkey/latchkey/services/credential/server"
	mfa "github.com/latchkey/latchkey/services/mfa/server"
	notification "github.com/latchkey/latchkey/services/notification/server"
	recovery "github.com/latchkey/latchkey/services/recovery/server"
)

// Config is the all-in-one's settings; ConfigFromEnv reads them.
type Config struct {
	// Edge is where the gateway listens (HTTPAddr, GRPCAddr) and whom it
	// believes (TrustedProxies); its backends are the services here.
	Edge    gateway.Config
	DataDir string
	// EmbeddedNATSAddr is where the embedded NATS listens, so other
	// systems can subscribe to events even in all-in-one mode.
	EmbeddedNATSAddr string
	// PostgresURL and NATSURL replace SQLite and the embedded NATS.
	PostgresURL string
	NATSURL     string
	// NATSNames are the deployment's names on NATS (its prefix), so that
	// several deployments, or test runs, share one NATS apart.
	NATSNames natsx.Names
	// NATSReplicas is how many copies of each stream NATS keeps (0: 1).
	NATSReplicas int
	// NATSNKeyFile is the credential service's nkey seed, which
	// `latchkey keys rotate` connects with.
	NATSNKeyFile string
	// NATSNKeyDir, when set, is a folder `latchkey nats-auth` wrote: each
	// service then connects to NATS on its own, as its own user
	// (<service>.nk), and the readiness check as the gateway, as separate
	// binaries do. Empty: one connection without authentication, shared.
	NATSNKeyDir string
	// OperatorToken admits operator calls; empty: generated on first start
	// and kept in DataDir/operator-token.
	OperatorToken string
	// ManagementAddr is where /metrics and the detailed /readyz are
	// served (daemon.ManagementAddr); empty: nowhere.
	ManagementAddr string
	// The services' own settings, read by the same functions their
	// binaries use, so the all-in-one honours every one of them.
	Account      account.Tuning
	Credential   credential.Tuning
	MFA          mfa.Tuning
	Notification notification.Tuning
	Recovery     recovery.Tuning
	Clock        clock.Clock
	Logger       *slog.Logger
}

// ConfigFromEnv reads the settings from environment variables through l.
func ConfigFromEnv(l *config.Loader) Config {
	return Config{
		Edge:             gateway.EdgeFromEnv(l),
		DataDir:          infra.DataDir(l),
		EmbeddedNATSAddr: l.String("LATCHKEY_EMBEDDED_NATS_ADDR", "127.0.0.1:4250", "all-in-one: where the embedded NATS listens (unused when LATCHKEY_NATS_URL is set)"),
		PostgresURL:      infra.PostgresURL(l),
		NATSURL:          infra.NATSURL(l),
		NATSNames:        infra.NATSNames(l),
		NATSReplicas:     infra.NATSReplicas(l),
		NATSNKeyFile:     infra.NATSNKeyFile(l),
		OperatorToken:    authn.OperatorTokenFromEnv(l),
		ManagementAddr:   daemon.ManagementAddr(l),
		Account:          account.TuningFromEnv(l),
		Credential:       credential.TuningFromEnv(l),
		MFA:              mfa.TuningFromEnv(l),
		Notification:     notification.TuningFromEnv(l),
		Recovery:         recovery.TuningFromEnv(l),
	}
}

// sharesHashPool says whether the hashing services (credential, recovery,
// mfa) share one pool: when their settings are the same, as they are
// when read from the environment (one set of variables for all). Three
// pools of one slot per core would run three hashes per core at a burst
// of log-ins, PIN checks and security answers, each slower and each
// holding its Argon2 memory; one pool keeps the cores' count of hashes
// in flight, in one FIFO line. (Tests give the credential service a pool
// of its own.)
func (c Config) sharesHashPool() bool {
	return c.Credential.Hash == c.Recovery.Hash && c.Credential.Hash == c.MFA.Hash
}

// HashMemory is the most Argon2 memory the hash pools of the all-in-one
// hold at once.
func (c Config) HashMemory() int64 {
	if c.sharesHashPool() {
		return c.Credential.Hash.Memory()
	}
	return c.Credential.Hash.Memory() + c.Recovery.Hash.Memory() + c.MFA.Hash.Memory()
}

// Instance is a running all-in-one.
type Instance struct {
	// HTTPURL is the base URL of the REST API, e.g. http://127.0.0.1:8080.
	HTTPURL string
	// GRPCAddr is the public gRPC address.
	GRPCAddr string
	// NATSURL is the NATS the services publish to.
	NATSURL string
	// NATSNames are the names they publish and consume under.
	NATSNames natsx.Names
	// OperatorToken is the token operators use; OperatorTokenPath is the
	// file it was read from or written to ("" when it came from config).
	OperatorToken     string
	OperatorTokenPath string
	OperatorTokenNew  bool
	// SigningKeyKEKPath is the file the signing keys' KEK was read from or
	// written to ("" when it came from config); SigningKeyKEKNew says it
	// was generated now.
	SigningKeyKEKPath string
	SigningKeyKEKNew  bool
	// MFASecretKeysPath is the file the key ring sealing TOTP secrets was
	// read from or written to ("" when it came from config);
	// MFASecretKeysNew says it was generated now.
	MFASecretKeysPath string
	MFASecretKeysNew  bool
	// UISessionKeysPath is the file the key ring sealing the hosted pages'
	// session cookie was read from or written to ("" when it came from
	// config); UISessionKeysNew says it was generated now.
	UISessionKeysPath string
	UISessionKeysNew  bool
	// MailboxURL is the built-in mailbox page ("" when e-mail goes to an
	// SMTP server). It answers loopback clients only (and the operator
	// token), whatever address the HTTP listener has.
	MailboxURL string
	// ManagementURL is the base URL of the management listener ("" when
	// ManagementAddr is empty): /metrics, /healthz and a /readyz that
	// names what is down.
	ManagementURL string
	// Internal are the services' internal gRPC addresses, by service name;
	// calls need a certificate of an allowed caller (Identity).
	Internal map[string]string
	// Backends are the services' public gRPC addresses (loopback), for
	// benchmarks that measure what the gateway hop costs.
	Backends gateway.Backends

	ca     *mtls.CA
	cancel context.CancelFunc
	done   chan error
}

// Identity issues a certificate of this run's CA to service: what each
// service and the gateway present, and what tests use to call a service
// directly as one of its peers.
func (i *Instance) Identity(service string) (*mtls.Identity, error) {
	return i.ca.Identity(service, 10*365*24*time.Hour)
}

// Start starts everything and returns once every listener is open. The
// services keep running until ctx is cancelled or Stop is called.
func Start(ctx context.Context, cfg Config) (_ *Instance, err error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	if cfg.OperatorToken != "" {
		// ConfigFromEnv refuses a guessable token; so does a Config built
		// in code, before anything starts.
		if err := authn.CheckOperatorToken(cfg.OperatorToken); err != nil {
			return nil, fmt.Errorf("%s: %w", authn.EnvOperatorToken, err)
		}
	}
	if err := infra.CheckNATS(cfg.NATSNames, cfg.NATSReplicas); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	var cleanups []func()
	defer func() {
		if err != nil {
			cancel()
			for i := len(cleanups) - 1; i >= 0; i-- {
				cleanups[i]()
			}
		}
	}()
	inst := &Instance{cancel: cancel, done: make(chan error, 1)}

	// NATS: embedded unless a server is given.
	inst.NATSURL, inst.NATSNames = cfg.NATSURL, cfg.NATSNames
	if inst.NATSURL == "" {
		host, port, err := splitHostPort(cfg.EmbeddedNATSAddr)
		if err != nil {
			return nil, fmt.Errorf("LATCHKEY_EMBEDDED_NATS_ADDR: %w", err)
		}
		ns, err := embedded.Start(embedded.Options{Host: host, Port: port, StoreDir: filepath.Join(cfg.DataDir, "nats")})
		if err != nil {
			return nil, err
		}
		cleanups = append(cleanups, ns.Shutdown)
		inst.NATSURL = ns.ClientURL()
	}
	var natsOpts []nats.Option
	if cfg.NATSNKeyDir != "" {
		if natsOpts, err = natsx.UserOptions(cfg.NATSNames, infra.Gateway, natsauth.SeedFile(cfg.NATSNKeyDir, infra.Gateway)); err != nil {
			return nil, err
		}
	}
	nc, err := natsx.Connect(ctx, inst.NATSURL, "latchkey", natsOpts...)
	if err != nil {
		return nil, err
	}
	cleanups = append(cleanups, nc.Close)

	// Operator token.
	inst.OperatorToken = cfg.OperatorToken
	if inst.OperatorToken == "" {
		inst.OperatorToken, inst.OperatorTokenPath, inst.OperatorTokenNew, err = authn.LoadOrCreateOperatorToken(cfg.DataDir)
		if err != nil {
			return nil, err
		}
	}
	operators := authn.NewOperatorTokens(inst.OperatorToken)

	// The signing keys' KEK, generated beside the data it protects when
	// none is configured (credentiald alone requires it).
	if cfg.Credential.KEK == nil {
		cfg.Credential.KEK, inst.SigningKeyKEKPath, inst.SigningKeyKEKNew, err = credential.LoadOrCreateKEK(cfg.DataDir)
		if err != nil {
			return nil, err
		}
	}

	// The same for the key ring that seals TOTP secrets (mfad alone
	// requires it).
	if cfg.MFA.SecretKeys == nil {
		cfg.MFA.SecretKeys, inst.MFASecretKeysPath, inst.MFASecretKeysNew, err = mfa.LoadOrCreateSecretKeys(cfg.DataDir)
		if err != nil {
			return nil, err
		}
	}

	// And for the key ring that seals the hosted pages' session cookie
	// (gatewayd alone requires it).
	if cfg.Edge.UISessionKeys == nil {
		cfg.Edge.UISessionKeys, inst.UISessionKeysPath, inst.UISessionKeysNew, err = ui.LoadOrCreateSessionKeys(cfg.DataDir)
		if err != nil {
			return nil, err
		}
	}

	// Each service listens on loopback ports of its own, as it would in
	// production on its own host: its public API for the gateway, its
	// internal API for the other services, both mutual TLS with
	// certificates from a CA made for this run (nothing to configure, and
	// the same rule as separate processes).
	if inst.ca, err = mtls.NewCA("Latchkey all-in-one CA", 10*365*24*time.Hour); err != nil {
		return nil, err
	}
	type ports struct {
		public, internal net.Listener
		identity         *mtls.Identity
	}
	listen := func() (net.Listener, error) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err == nil {
			cleanups = append(cleanups, func() { l.Close() })
		}
		return l, err
	}
	svc := map[string]*ports{}
	for _, name := range []string{"account", "credential", "recovery", "mfa", "notification"} {
		p := &ports{}
		if name != "notification" { // the one service without a public API
			if p.public, err = listen(); err != nil {
				return nil, err
			}
		}
		if p.internal, err = listen(); err != nil {
			return nil, err
		}
		if p.identity, err = inst.Identity(name); err != nil {
			return nil, err
		}
		svc[name] = p
	}
	httpLis, grpcLis, err := cfg.Edge.Listen()
	if err != nil {
		return nil, err
	}
	cleanups = append(cleanups, func() { httpLis.Close() })
	inst.GRPCAddr = httpLis.Addr().String()
	if grpcLis != nil {
		cleanups = append(cleanups, func() { grpcLis.Close() })
		inst.GRPCAddr = grpcLis.Addr().String()
	}
	inst.HTTPURL = "http://" + httpLis.Addr().String()
	var managementLis net.Listener
	if cfg.ManagementAddr != "" {
		if managementLis, err = net.Listen("tcp", cfg.ManagementAddr); err != nil {
			return nil, fmt.Errorf("%s: %w", daemon.EnvManagementAddr, err)
		}
		cleanups = append(cleanups, func() { managementLis.Close() })
		inst.ManagementURL = "http://" + managementLis.Addr().String()
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if cfg.sharesHashPool() {
		if p := cfg.Credential.Hash.Params; p != (passhash.Params{}) {
			if err := p.Validate(); err != nil { // NewHasher would panic
				return nil, err
			}
		}
		shared := cfg.Credential.Hash.NewHasher()
		if err := shared.Register(reg, "all-in-one"); err != nil {
			return nil, err
		}
		cfg.Credential.Hash.Shared, cfg.Recovery.Hash.Shared, cfg.MFA.Hash.Shared = shared, shared, shared
	}
	inst.Backends = gateway.Backends{
		Account:    svc["account"].public.Addr().String(),
		Credential: svc["credential"].public.Addr().String(),
		Recovery:   svc["recovery"].public.Addr().String(),
		MFA:        svc["mfa"].public.Addr().String(),
	}
	inst.Internal = map[string]string{}
	for name, p := range svc {
		inst.Internal[name] = p.internal.Addr().String()
	}
	// What every service shares: the data directory or PostgreSQL, one
	// NATS connection, the clock, the logs and the metrics.
	settings := func(name string) infra.Settings {
		p := svc[name]
		s := infra.Settings{Listener: p.public, InternalListener: p.internal, Identity: p.identity,
			PostgresURL: cfg.PostgresURL, DataDir: cfg.DataDir, NATS: nc, NATSNames: cfg.NATSNames, NATSReplicas: cfg.NATSReplicas,
			Clock: cfg.Clock, Logger: cfg.Logger, Registerer: reg}
		if cfg.NATSNKeyDir != "" {
			s.NATS, s.NATSURL, s.NATSNKeyFile = nil, inst.NATSURL, natsauth.SeedFile(cfg.NATSNKeyDir, name)
		}
		return s
	}

	// E-mail: over SMTP when configured, else into the built-in mailbox,
	// which the gateway shows at /ui/mailbox/ so a new user can follow an
	// activation link without a mail server.
	mail := notification.Config{Settings: settings("notification"), AccountAddr: inst.Internal["account"], Tuning: cfg.Notification}
	mail.Mailbox = mail.SMTPURL == ""
	if mail.LinkBaseURL == "" {
		mail.LinkBaseURL = inst.HTTPURL
	}
	pages := http.NewServeMux()
	mailbox, err := notification.MailboxHandler(mail, "/ui/mailbox/")
	if err != nil {
		return nil, err
	}
	if mailbox != nil {
		pages.Handle("/ui/mailbox/", localOnly(mailbox, operators))
		inst.MailboxURL = inst.HTTPURL + "/ui/mailbox/"
	}

	edge := cfg.Edge
	edge.Backends = inst.Backends
	if edge.Identity, err = inst.Identity(infra.Gateway); err != nil {
		return nil, err
	}
	edge.Backends.Notification = inst.Internal["notification"]
	edge.NATS = natsx.Ready(nc)
	if err := natsx.RegisterConnected(reg, nc, "latchkey"); err != nil {
		return nil, err
	}
	edge.Registerer = reg
	edge.Logger = cfg.Logger.With("service", "gateway")
	edge.Pages = pages
	gw, err := gateway.New(ctx, edge)
	if err != nil {
		return nil, err
	}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		return account.Run(gctx, account.Config{
			Settings: settings("account"), CredentialAddr: inst.Internal["credential"],
			MFAAddr: inst.Internal["mfa"], RecoveryAddr: inst.Internal["recovery"],
			Token: cfg.Credential.Token, OperatorTokens: operators, Tuning: cfg.Account,
		})
	})
	g.Go(func() error {
		return credential.Run(gctx, credential.Config{
			Settings:    settings("credential"),
			AccountAddr: inst.Internal["account"], MFAAddr: inst.Internal["mfa"], RecoveryAddr: inst.Internal["recovery"],
			OperatorTokens: operators, Tuning: cfg.Credential,
		})
	})
	g.Go(func() error {
		return recovery.Run(gctx, recovery.Config{
			Settings:    settings("recovery"),
			AccountAddr: inst.Internal["account"], CredentialAddr: inst.Internal["credential"], MFAAddr: inst.Internal["mfa"],
			Token: cfg.Credential.Token, OperatorTokens: operators, Tuning: cfg.Recovery,
		})
	})
	g.Go(func() error {
		return mfa.Run(gctx, mfa.Config{
			Settings:    settings("mfa"),
			AccountAddr: inst.Internal["account"], NotificationAddr: inst.Internal["notification"], CredentialAddr: inst.Internal["credential"],
			Token: cfg.Credential.Token, OperatorTokens: operators, Tuning: cfg.MFA,
		})
	})
	g.Go(func() error { return notification.Run(gctx, mail) })
	g.Go(func() error { return gw.Serve(gctx, httpLis, grpcLis) })
	if managementLis != nil {
		management := daemon.ManagementMux(reg)
		management.Handle("GET /readyz", gw.ReadinessDetails())
		g.Go(func() error { return daemon.ServeManagement(gctx, managementLis, management) })
	}

	go func() {
		err := g.Wait()
		cancel()
		gw.Close()
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
		if errors.Is(err, context.Canceled) {
			err = nil
		}
		inst.done <- err
	}()
	return inst, nil
}

// Wait blocks until the instance has stopped and returns why (nil after a
// requested stop).
func (i *Instance) Wait() error {
	err := <-i.done
	i.done <- err
	return err
}

// Stop shuts everything down gracefully and waits for it.
func (i *Instance) Stop() error {
	i.cancel()
	return i.Wait()
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, fmt.Errorf("port %q: %w", p, err)
	}
	return host, port, nil
}

// Migrate applies every service's migrations and returns: what `latchkey
// migrate` does before a rollout.
func Migrate(ctx context.Context, cfg Config) error {
	s := infra.Settings{PostgresURL: cfg.PostgresURL, DataDir: cfg.DataDir}
	for _, svc := range []infra.Service{account.Service, credential.Service, recovery.Service, mfa.Service, notification.Service} {
		if err := infra.MigrateOnly(ctx, svc, s); err != nil {
			return fmt.Errorf("%s: %w", svc.Name, err)
		}
	}
	return nil
}
