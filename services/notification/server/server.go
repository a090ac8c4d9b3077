// Package server wires and runs the notification service; cmd/notificationd, the
// all-in-one binary and the end-to-end tests start it through Run.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"path/filepath"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	"github.com/latchkey/latchkey/libs/config"
	"github.com/latchkey/latchkey/libs/infra"
	"github.com/latchkey/latchkey/libs/outbox"
	accountinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/account/v1"
	"github.com/latchkey/latchkey/services/notification/internal/app"
	"github.com/latchkey/latchkey/services/notification/internal/consumers"
	"github.com/latchkey/latchkey/services/notification/internal/delivery"
	"github.com/latchkey/latchkey/services/notification/internal/grpcapi"
	"github.com/latchkey/latchkey/services/notification/internal/mailbox"
	"github.com/latchkey/latchkey/services/notification/internal/mailer"
	"github.com/latchkey/latchkey/services/notification/internal/peers"
	"github.com/latchkey/latchkey/services/notification/internal/store"
	"github.com/latchkey/latchkey/services/notification/internal/store/sqlstore"
	"github.com/latchkey/latchkey/services/notification/migrations"
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
	infra.Settings
	// AccountAddr is the account service's internal gRPC address (tenant branding,
	// the recipient of security notices); empty: no lookups (requests must
	// name their recipient; default branding).
	AccountAddr string
	Tuning
	// SMTPTLSConfig replaces the default TLS settings (tests).
	SMTPTLSConfig *tls.Config
	// Poll is the longest the worker waits without a wake-up (default 1s);
	// Lease is how long a delivery in progress stays reserved (default
	// 2m). Tests shorten them.
	Poll, Lease time.Duration
	// Jitter returns numbers in [0, 1) for the backoff (nil: random).
	Jitter func() float64
}

// Tuning is how the service sends e-mail, the same whether it runs on its
// own or in the all-in-one binary.
type Tuning struct {
	// SMTPURL is smtp://[user:pass@]host:port or smtps://…; empty: mail
	// goes to the built-in mailbox in MailboxDir.
	SMTPURL string
	// From is the sender address of tenants whose policy has none
	// (default latchkey@localhost).
	From string
	// LinkBaseURL is the base of links for tenants whose policy has none
	// (the all-in-one: its own REST URL when empty).
	LinkBaseURL string
	// MailboxDir is where the built-in mailbox keeps messages (default
	// DataDir/mailbox).
	MailboxDir string
	// Mailbox turns the built-in mailbox on without an SMTP server
	// (notificationd refuses to start with neither); the all-in-one uses
	// it whenever SMTPURL is empty and shows it at /ui/mailbox/.
	Mailbox bool
	// Limits are the rate limits.
	Limits RateLimits
	// Retry says how temporary SMTP failures are retried (zero fields:
	// 30s doubling to 1h, 30 attempts).
	Retry delivery.Retry
	// Workers is how many messages are sent at once, and how many SMTP
	// connections are kept open between messages (default 4).
	Workers int
}

// TuningFromEnv reads the Tuning settings.
func TuningFromEnv(l *config.Loader) Tuning {
	t := Tuning{
		SMTPURL:     l.Secret("LATCHKEY_SMTP_URL", "smtp://[user:pass@]host:port (STARTTLS; plain only to loopback) or smtps://… (implicit TLS); empty: the built-in mailbox (the all-in-one shows it at /ui/mailbox/; notificationd needs LATCHKEY_MAILBOX=true for it)"),
		From:        l.String("LATCHKEY_SMTP_FROM", "latchkey@localhost", "sender address of e-mail when the tenant policy names none"),
		LinkBaseURL: l.String("LATCHKEY_LINK_BASE_URL", "", "base URL of links in e-mail when the tenant policy names none (required by notificationd; empty in the all-in-one: its own REST URL)"),
		MailboxDir:  l.String("LATCHKEY_MAILBOX_DIR", "", "folder of the built-in mailbox; empty: <data dir>/mailbox"),
		Mailbox:     l.Bool("LATCHKEY_MAILBOX", false, "notificationd: keep e-mail in the built-in mailbox folder instead of sending it when LATCHKEY_SMTP_URL is empty (local use only: it holds every link token)"),
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
		Workers: l.Int("LATCHKEY_MAIL_WORKERS", 16, "e-mails handed to the SMTP server at once (as many connections are kept open between messages)"),
	}
	if t.SMTPURL != "" {
		// A bad URL is one line at start, not a failure at the first
		// e-mail.
		_, err := mailer.NewSMTP(t.SMTPURL, mailer.SMTPOptions{})
		l.Invalid("LATCHKEY_SMTP_URL", err)
	}
	if t.Workers < 1 {
		l.Invalid("LATCHKEY_MAIL_WORKERS", errors.New("must be at least 1"))
	}
	return t
}

// ConfigFromEnv reads the settings of the service binary (notificationd),
// which needs an SMTP server (or LATCHKEY_MAILBOX=true), the account
// service and a base URL for links.
func ConfigFromEnv(l *config.Loader) Config {
	cfg := Config{
		Settings:    infra.SettingsFromEnv(l, Name, false),
		AccountAddr: infra.PeerAddr(l, "account"),
		Tuning:      TuningFromEnv(l),
	}
	if cfg.SMTPURL == "" && !cfg.Mailbox {
		l.Invalid("LATCHKEY_SMTP_URL", errors.New("required (or LATCHKEY_MAILBOX=true to keep e-mail in a folder)"))
	}
	if cfg.LinkBaseURL == "" {
		l.Invalid("LATCHKEY_LINK_BASE_URL", errors.New("required"))
	}
	return cfg
}

// Service is what infra opens for the notification service.
var Service = infra.Service{Name: Name, Migrations: migrations.FS}

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
	cfg.Settings = cfg.Settings.WithDefaults()
	log := cfg.Logger.With("service", Name)

	var sender mailer.Sender
	if cfg.SMTPURL != "" {
		s, err := mailer.NewSMTP(cfg.SMTPURL, mailer.SMTPOptions{TLSConfig: cfg.SMTPTLSConfig, MaxIdle: cfg.Workers})
		if err != nil {
			return err
		}
		defer s.Close()
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

	in, err := infra.Open(ctx, Service, cfg.Settings)
	if err != nil {
		return err
	}
	defer in.Close()

	var dir app.Directory
	if cfg.AccountAddr != "" {
		// Every e-mail needs its tenant's branding and its account's
		// address: not ready without account.
		conn, err := in.DialRequired(cfg.Settings, "account", cfg.AccountAddr)
		if err != nil {
			return err
		}
		dir = peers.NewAccounts(accountinternalv1.NewAccountInternalServiceClient(conn), 0)
	}

	box := outbox.New(in.DB, cfg.Clock, Name)
	st := sqlstore.New(in.DB, box)
	metrics, err := app.NewMetrics(cfg.Registerer)
	if err != nil {
		return err
	}
	use := app.New(st, cfg.Clock, dir, sender, app.Options{
		From: cfg.From, LinkBaseURL: cfg.LinkBaseURL, Retry: cfg.Retry, Limits: cfg.Limits.store(),
		Lease: cfg.Lease, Workers: cfg.Workers, Poll: cfg.Poll, Jitter: cfg.Jitter, Logger: log, Metrics: metrics,
	})

	g, gctx := errgroup.WithContext(ctx)
	for _, c := range consumers.All(use, st.Bind) {
		c.Config.Clock, c.Config.Logger = cfg.Clock, log
		g.Go(func() error { return in.Consume(gctx, c.Config, c.Handler) })
	}
	g.Go(func() error { return use.RunWorker(gctx) })
	g.Go(func() error { return in.Relay(box, outbox.RelayOptions{Logger: log}).Run(gctx) })
	g.Go(func() error {
		return in.Serve(gctx, Name, cfg.Settings, infra.API{
			Internal: func(s grpc.ServiceRegistrar) { grpcapi.RegisterInternal(s, use) },
			Callers:  grpcapi.Callers,
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
