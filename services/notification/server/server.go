// Package server wires and runs the notification service; cmd/notificationd, the
// all-in-one binary and the end-to-end tests start it through Run.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/config"
	"github.com/latchkey/latchkey/libs/grpcx"
	"github.com/latchkey/latchkey/libs/inbox"
	"github.com/latchkey/latchkey/libs/infra"
	"github.com/latchkey/latchkey/libs/outbox"
	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
	"github.com/latchkey/latchkey/services/notification/internal/app"
	"github.com/latchkey/latchkey/services/notification/internal/consumers"
	"github.com/latchkey/latchkey/services/notification/internal/delivery"
	"github.com/latchkey/latchkey/services/notification/internal/grpcapi"
	"github.com/latchkey/latchkey/services/notification/internal/mailbox"
	"github.com/latchkey/latchkey/services/notification/internal/mailer"
	"github.com/latchkey/latchkey/services/notification/internal/peers"
	"github.com/latchkey/latchkey/services/notification/internal/store"
	"github.com/latchkey/latchkey/services/notification/internal/store/sqlstore"
)

// Name is the service's name: its PostgreSQL schema, its SQLite file and
// its NATS connection name.
const Name = "notification"

// RateLimits bound the e-mail one recipient address and one tenant get
// within Window. A delivery over a limit is not sent: it ends
// RATE_LIMITED (GetDelivery says so, with the reason, and a
// NotificationFailed event is published); it is never retried. Zero
// fields take the defaults; a negative count means no limit.
type RateLimits struct {
	PerRecipient int
	PerTenant    int
	Window       time.Duration
}

// Default rate limits: 20 e-mails per recipient and 2000 per tenant per
// hour.
const (
	DefaultPerRecipient = 20
	DefaultPerTenant    = 2000
	DefaultWindow       = time.Hour
)

func (r RateLimits) store() store.Limits {
	if r.PerRecipient == 0 {
		r.PerRecipient = DefaultPerRecipient
	}
	if r.PerTenant == 0 {
		r.PerTenant = DefaultPerTenant
	}
	if r.Window <= 0 {
		r.Window = DefaultWindow
	}
	return store.Limits{PerRecipient: max(r.PerRecipient, 0), PerTenant: max(r.PerTenant, 0), Window: r.Window}
}

// Config is what the service needs to run.
type Config struct {
	// GRPCAddr is where the service listens, unless Listener is set.
	GRPCAddr string
	Listener net.Listener
	// PostgresURL selects PostgreSQL (schema "notification"); empty
	// selects SQLite in DataDir.
	PostgresURL string
	DataDir     string
	// NATS is a connection to use; when nil, one is made to NATSURL.
	NATS    *nats.Conn
	NATSURL string
	// AccountAddr is the account service's gRPC address (tenant branding,
	// the recipient of security notices); empty: no lookups (requests must
	// name their recipient; default branding).
	AccountAddr string
	// SMTPURL is smtp://[user:pass@]host:port or smtps://…; empty: mail
	// goes to the built-in mailbox in MailboxDir.
	SMTPURL string
	// SMTPTLSConfig replaces the default TLS settings (tests).
	SMTPTLSConfig *tls.Config
	// From is the sender address of tenants whose policy has none
	// (default latchkey@localhost).
	From string
	// LinkBaseURL is the base of links for tenants whose policy has none
	// (default http://127.0.0.1:8080).
	LinkBaseURL string
	// MailboxDir is where the built-in mailbox keeps messages (default
	// DataDir/mailbox).
	MailboxDir string
	// Mailbox turns the mailbox page on (MailboxHandler); off by default,
	// since the page shows every link token.
	Mailbox bool
	// Limits are the rate limits.
	Limits RateLimits
	// Retry says how temporary SMTP failures are retried (zero fields:
	// 30s doubling to 1h, 30 attempts).
	Retry delivery.Retry
	// Workers is how many messages are sent at once (default 4).
	Workers int
	// Poll is the longest the worker waits without a wake-up (default 1s);
	// Lease is how long a delivery in progress stays reserved (default
	// 2m). Tests shorten them.
	Poll, Lease time.Duration
	// Jitter returns numbers in [0, 1) for the backoff (nil: random).
	Jitter     func() float64
	Clock      clock.Clock
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// ConfigFromEnv reads the service's settings from the environment.
func ConfigFromEnv(l *config.Loader) Config {
	return Config{
		GRPCAddr:    l.String("LATCHKEY_NOTIFICATION_GRPC_ADDR", "127.0.0.1:7005", "notification service: gRPC listen address"),
		PostgresURL: l.Secret("LATCHKEY_POSTGRES_URL", "PostgreSQL URL; empty: SQLite files in LATCHKEY_DATA_DIR"),
		DataDir:     l.String("LATCHKEY_DATA_DIR", "./.latchkey", "data directory (SQLite files, the built-in mailbox)"),
		NATSURL:     l.String("LATCHKEY_NATS_URL", "nats://127.0.0.1:4222", "NATS server with JetStream"),
		AccountAddr: l.String("LATCHKEY_ACCOUNT_ADDR", "127.0.0.1:7001", "gRPC address of the account service"),
		SMTPURL:     l.Secret("LATCHKEY_SMTP_URL", "smtp://[user:pass@]host:port (STARTTLS; plain only to loopback) or smtps://… (implicit TLS); empty: the built-in mailbox"),
		From:        l.String("LATCHKEY_SMTP_FROM", "latchkey@localhost", "sender address of e-mail when the tenant policy names none"),
		LinkBaseURL: l.String("LATCHKEY_LINK_BASE_URL", "http://127.0.0.1:8080", "base URL of links in e-mail when the tenant policy names none"),
		MailboxDir:  l.String("LATCHKEY_MAILBOX_DIR", "", "folder of the built-in mailbox; empty: <data dir>/mailbox"),
		Mailbox:     l.Bool("LATCHKEY_MAILBOX", false, "serve the built-in mailbox page (shows every link token: local use only)"),
		Limits: RateLimits{
			PerRecipient: l.Int("LATCHKEY_MAIL_LIMIT_PER_RECIPIENT", DefaultPerRecipient, "e-mails one address may get per window (-1: no limit); more end RATE_LIMITED"),
			PerTenant:    l.Int("LATCHKEY_MAIL_LIMIT_PER_TENANT", DefaultPerTenant, "e-mails one tenant may send per window (-1: no limit); more end RATE_LIMITED"),
			Window:       l.Duration("LATCHKEY_MAIL_LIMIT_WINDOW", DefaultWindow, "window of the e-mail rate limits"),
		},
		Retry: delivery.Retry{
			Base:        l.Duration("LATCHKEY_MAIL_RETRY_BASE", delivery.DefaultRetry.Base, "wait after the first temporary SMTP failure (doubles each time, with jitter)"),
			Max:         l.Duration("LATCHKEY_MAIL_RETRY_MAX", delivery.DefaultRetry.Max, "longest wait between SMTP attempts"),
			MaxAttempts: l.Int("LATCHKEY_MAIL_MAX_ATTEMPTS", delivery.DefaultRetry.MaxAttempts, "SMTP attempts before a delivery is FAILED"),
		},
		Workers: l.Int("LATCHKEY_MAIL_WORKERS", 4, "e-mails handed to the SMTP server at once"),
	}
}

func (cfg *Config) mailboxDir() string {
	if cfg.MailboxDir != "" {
		return cfg.MailboxDir
	}
	return filepath.Join(cfg.DataDir, "mailbox")
}

// MailboxHandler serves the built-in mailbox under prefix (e.g.
// "/ui/mailbox/"): an HTML page at prefix, JSON at prefix+"messages". It
// returns nil when cfg.Mailbox is off. It reads the same folder Run writes
// to, so it may be created before Run starts.
func MailboxHandler(cfg Config, prefix string) (http.Handler, error) {
	if !cfg.Mailbox {
		return nil, nil
	}
	mb, err := mailbox.New(cfg.mailboxDir(), 0)
	if err != nil {
		return nil, err
	}
	return mb.Handler(prefix), nil
}

// Run migrates the database, then serves gRPC, consumes the work queue and
// the events that call for notices, sends stored e-mail and relays the
// outbox, until ctx is cancelled.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	log := cfg.Logger.With("service", Name)

	var sender mailer.Sender
	if cfg.SMTPURL != "" {
		s, err := mailer.NewSMTP(cfg.SMTPURL, mailer.SMTPOptions{TLSConfig: cfg.SMTPTLSConfig})
		if err != nil {
			return err
		}
		log.Info("notification: e-mail goes out through SMTP", "server", s.String())
		sender = s
	} else {
		mb, err := mailbox.New(cfg.mailboxDir(), 0)
		if err != nil {
			return err
		}
		log.Warn("notification: no SMTP server configured (LATCHKEY_SMTP_URL); e-mail goes to the built-in mailbox", "dir", cfg.mailboxDir())
		sender = mb
	}

	in, err := infra.Open(ctx, infra.Config{Name: Name, PostgresURL: cfg.PostgresURL, DataDir: cfg.DataDir,
		Migrate: sqlstore.Migrate, NATS: cfg.NATS, NATSURL: cfg.NATSURL, Listener: cfg.Listener, GRPCAddr: cfg.GRPCAddr})
	if err != nil {
		return err
	}
	defer in.Close()
	db, js, lis := in.DB, in.JS, in.Listener

	var dir app.Directory
	if cfg.AccountAddr != "" {
		conn, err := grpcx.Dial(cfg.AccountAddr, grpcx.DialOptions{Registerer: cfg.Registerer})
		if err != nil {
			return err
		}
		defer conn.Close()
		dir = peers.NewAccounts(accountv1.NewAccountInternalServiceClient(conn), 0)
	}

	box := outbox.New(db, cfg.Clock, Name)
	use := app.New(db, sqlstore.New(db, box), cfg.Clock, dir, sender, app.Options{
		From: cfg.From, LinkBaseURL: cfg.LinkBaseURL, Retry: cfg.Retry, Limits: cfg.Limits.store(),
		Lease: cfg.Lease, Workers: cfg.Workers, Poll: cfg.Poll, Jitter: cfg.Jitter, Logger: log,
	})

	g, gctx := errgroup.WithContext(ctx)
	for _, c := range consumers.All(use) {
		c.Config.Clock, c.Config.Logger = cfg.Clock, log
		g.Go(func() error { return inbox.Run(gctx, js, db, c.Config, c.Handler) })
	}
	g.Go(func() error { return use.RunWorker(gctx) })
	g.Go(func() error { return box.NewRelay(js, outbox.RelayOptions{Logger: log}).Run(gctx) })
	g.Go(func() error {
		return grpcx.Run(gctx, lis, "", grpcx.ServerOptions{Logger: log, Registerer: cfg.Registerer},
			func(s *grpc.Server) { grpcapi.Register(s, use) })
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
