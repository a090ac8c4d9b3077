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

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/latchkey/latchkey/gateway"
	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/config"
	"github.com/latchkey/latchkey/libs/natsx"
	"github.com/latchkey/latchkey/libs/natsx/embedded"
	account "github.com/latchkey/latchkey/services/account/server"
	credential "github.com/latchkey/latchkey/services/credential/server"
	mfa "github.com/latchkey/latchkey/services/mfa/server"
	notification "github.com/latchkey/latchkey/services/notification/server"
	recovery "github.com/latchkey/latchkey/services/recovery/server"
)

// Config is the all-in-one's settings; ConfigFromEnv reads them.
type Config struct {
	// HTTPAddr serves REST, the OpenAPI document, health and metrics.
	HTTPAddr string
	// GRPCAddr serves the public gRPC API; equal to HTTPAddr, both share
	// one port.
	GRPCAddr string
	DataDir  string
	// EmbeddedNATSAddr is where the embedded NATS listens, so other
	// systems can subscribe to events even in all-in-one mode.
	EmbeddedNATSAddr string
	// PostgresURL and NATSURL replace SQLite and the embedded NATS.
	PostgresURL string
	NATSURL     string
	// SMTPURL is where e-mail goes (used once the notification service is
	// built).
	SMTPURL string
	// SMTPFrom is the sender of e-mail when a tenant's policy names none.
	SMTPFrom string
	// OperatorToken admits operator calls; empty: generated on first start
	// and kept in DataDir/operator-token.
	OperatorToken  string
	TrustedProxies []string
	// Credential is how passwords are hashed and access tokens signed.
	Credential credential.Tuning
	// Account is the account service's lifecycle settings.
	Account account.Tuning
	Clock   clock.Clock
	Logger  *slog.Logger
}

// ConfigFromEnv reads the settings from environment variables through l.
func ConfigFromEnv(l *config.Loader) Config {
	return Config{
		HTTPAddr:         l.String("LATCHKEY_HTTP_ADDR", "127.0.0.1:8080", "public REST API, OpenAPI, /healthz, /readyz, /metrics (and later the hosted pages)"),
		GRPCAddr:         l.String("LATCHKEY_GRPC_ADDR", "127.0.0.1:9090", "public gRPC API (with reflection); set it equal to LATCHKEY_HTTP_ADDR to share one port"),
		DataDir:          l.String("LATCHKEY_DATA_DIR", "./.latchkey", "data directory: SQLite files, embedded NATS storage, the generated operator token"),
		EmbeddedNATSAddr: l.String("LATCHKEY_EMBEDDED_NATS_ADDR", "127.0.0.1:4250", "where the embedded NATS listens (unused when LATCHKEY_NATS_URL is set)"),
		PostgresURL:      l.Secret("LATCHKEY_POSTGRES_URL", "PostgreSQL URL, one schema per service; empty: SQLite files in the data directory"),
		NATSURL:          l.String("LATCHKEY_NATS_URL", "", "NATS server with JetStream; empty: the embedded NATS"),
		SMTPURL:          l.Secret("LATCHKEY_SMTP_URL", "smtp://[user:pass@]host:port (STARTTLS; plain only to loopback) or smtps://… (implicit TLS); empty: the built-in mailbox at /ui/mailbox/"),
		SMTPFrom:         l.String("LATCHKEY_SMTP_FROM", "latchkey@localhost", "sender address of e-mail when the tenant policy names none"),
		OperatorToken:    l.Secret("LATCHKEY_OPERATOR_TOKEN", "operator API token; empty: generated on first start into <data dir>/operator-token"),
		TrustedProxies:   l.List("LATCHKEY_TRUSTED_PROXIES", nil, "comma-separated IPs or CIDRs of reverse proxies whose X-Forwarded-* headers are believed"),
		Credential:       credential.TuningFromEnv(l),
		Account:          account.TuningFromEnv(l),
	}
}

// Instance is a running all-in-one.
type Instance struct {
	// HTTPURL is the base URL of the REST API, e.g. http://127.0.0.1:8080.
	HTTPURL string
	// GRPCAddr is the public gRPC address.
	GRPCAddr string
	// NATSURL is the NATS the services publish to.
	NATSURL string
	// OperatorToken is the token operators use; OperatorTokenPath is the
	// file it was read from or written to ("" when it came from config).
	OperatorToken     string
	OperatorTokenPath string
	OperatorTokenNew  bool
	// MailboxURL is the built-in mailbox page ("" when e-mail goes to an
	// SMTP server).
	MailboxURL string
	// Backends are the services' own gRPC addresses (loopback), for
	// benchmarks that measure what the gateway hop costs.
	Backends gateway.Backends

	cancel context.CancelFunc
	done   chan error
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
	inst.NATSURL = cfg.NATSURL
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
	nc, err := natsx.Connect(ctx, inst.NATSURL, "latchkey")
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

	// Each service listens on a loopback port of its own, as it would in
	// production on its own host; the gateway reaches them over gRPC.
	var listeners [5]net.Listener
	for i := range listeners {
		if listeners[i], err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return nil, err
		}
		l := listeners[i]
		cleanups = append(cleanups, func() { l.Close() })
	}
	httpLis, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("LATCHKEY_HTTP_ADDR: %w", err)
	}
	cleanups = append(cleanups, func() { httpLis.Close() })
	var grpcLis net.Listener
	if cfg.GRPCAddr != cfg.HTTPAddr {
		if grpcLis, err = net.Listen("tcp", cfg.GRPCAddr); err != nil {
			return nil, fmt.Errorf("LATCHKEY_GRPC_ADDR: %w", err)
		}
		cleanups = append(cleanups, func() { grpcLis.Close() })
		inst.GRPCAddr = grpcLis.Addr().String()
	} else {
		inst.GRPCAddr = httpLis.Addr().String()
	}
	inst.HTTPURL = "http://" + httpLis.Addr().String()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	inst.Backends = gateway.Backends{
		Account:    listeners[0].Addr().String(),
		Credential: listeners[1].Addr().String(),
		Recovery:   listeners[2].Addr().String(),
		MFA:        listeners[3].Addr().String(),
	}
	// E-mail: over SMTP when configured, else into the built-in mailbox,
	// which the gateway shows at /ui/mailbox/ so a new user can follow an
	// activation link without a mail server.
	mail := notification.Config{
		Listener: listeners[4], PostgresURL: cfg.PostgresURL, DataDir: cfg.DataDir, NATS: nc,
		AccountAddr: inst.Backends.Account, SMTPURL: cfg.SMTPURL, From: cfg.SMTPFrom, LinkBaseURL: inst.HTTPURL,
		Mailbox: cfg.SMTPURL == "", Clock: cfg.Clock, Logger: cfg.Logger, Registerer: reg,
	}
	pages := http.NewServeMux()
	mailbox, err := notification.MailboxHandler(mail, "/ui/mailbox/")
	if err != nil {
		return nil, err
	}
	if mailbox != nil {
		pages.Handle("/ui/mailbox/", mailbox)
		inst.MailboxURL = inst.HTTPURL + "/ui/mailbox/"
	}

	gw, err := gateway.New(ctx, gateway.Config{
		Backends:       inst.Backends,
		TrustedProxies: cfg.TrustedProxies,
		Ready:          natsx.Ready(nc),
		Gatherer:       reg,
		Registerer:     reg,
		Logger:         cfg.Logger.With("service", "gateway"),
		Pages:          pages,
	})
	if err != nil {
		return nil, err
	}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		return account.Run(gctx, account.Config{
			Listener: listeners[0], PostgresURL: cfg.PostgresURL, DataDir: cfg.DataDir, NATS: nc,
			CredentialAddr: inst.Backends.Credential, Token: cfg.Credential.Token, Tuning: cfg.Account,
			OperatorTokens: operators, Clock: cfg.Clock, Logger: cfg.Logger, Registerer: reg,
		})
	})
	g.Go(func() error {
		return credential.Run(gctx, credential.Config{
			Listener: listeners[1], PostgresURL: cfg.PostgresURL, DataDir: cfg.DataDir, NATS: nc,
			AccountAddr: inst.Backends.Account, MFAAddr: inst.Backends.MFA, RecoveryAddr: inst.Backends.Recovery,
			Tuning: cfg.Credential, OperatorTokens: operators, Clock: cfg.Clock, Logger: cfg.Logger, Registerer: reg,
		})
	})
	g.Go(func() error {
		return recovery.Run(gctx, recovery.Config{Listener: listeners[2], Logger: cfg.Logger, Registerer: reg})
	})
	g.Go(func() error {
		return mfa.Run(gctx, mfa.Config{Listener: listeners[3], Logger: cfg.Logger, Registerer: reg})
	})
	g.Go(func() error {
		return notification.Run(gctx, mail)
	})
	g.Go(func() error { return gw.Serve(gctx, httpLis, grpcLis) })

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
