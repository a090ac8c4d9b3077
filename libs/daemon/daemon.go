// Package daemon is the main function of every production binary: it
// answers -h with the binary's settings, refuses arguments, reads the
// configuration from the environment (every mistake at once, one line
// each), sets up JSON logging, serves Prometheus metrics, sends
// OpenTelemetry traces when LATCHKEY_OTLP_ENDPOINT is set, stops on
// SIGINT/SIGTERM and exits non-zero on failure. Each binary's main only
// says which service to run.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"

	"github.com/latchkey/latchkey/libs/config"
	"github.com/latchkey/latchkey/libs/logx"
	"github.com/latchkey/latchkey/libs/tracing"
)

// Env is what a binary's run gets besides its configuration: the logger,
// the metrics registry its service registers on, and the management
// listener's routes, to which it may add its own (gatewayd: a detailed
// /readyz) before it starts serving.
type Env struct {
	Logger     *slog.Logger
	Registry   *prometheus.Registry
	Management *http.ServeMux
}

// Options are the daemon's own settings, the same in every binary.
type Options struct {
	LogLevel       string
	ManagementAddr string
	// Tracing says where OpenTelemetry spans go (off by default).
	Tracing tracing.Settings
}

// EnvManagementAddr is the variable of the management listener's address.
const EnvManagementAddr = "LATCHKEY_MANAGEMENT_ADDR"

// ManagementAddr reads where the management listener listens: every
// binary, the all-in-one included, reads it through here, so it has one
// meaning and one default.
func ManagementAddr(l *config.Loader) string {
	return l.String(EnvManagementAddr, "127.0.0.1:9464", "management listener, not for the public: Prometheus /metrics, a liveness /healthz, a /readyz naming what is down (not ready) or degraded (NATS), and Go's profiles under /debug/pprof/; loopback by default, 0.0.0.0:9464 for probes from another host; two binaries on one host need two addresses; empty: off")
}

// OptionsFromEnv reads the daemon's own settings.
func OptionsFromEnv(l *config.Loader) Options {
	o := Options{
		LogLevel:       l.String(logx.EnvLevel, "info", "log level: debug, info, warn or error"),
		ManagementAddr: ManagementAddr(l),
		Tracing:        tracing.SettingsFromEnv(l),
	}
	if _, err := logx.ParseLevel(o.LogLevel); err != nil {
		l.Invalid(logx.EnvLevel, err)
	}
	return o
}

// Binary describes a production binary: its name, what it runs, how it
// reads its configuration and how it runs.
type Binary[C any] struct {
	// Name is the binary's name, e.g. "accountd".
	Name string
	// About is one sentence for the help text.
	About string
	// Config reads the binary's settings; it only reads (it is also called
	// with no environment to list them for -h).
	Config func(l *config.Loader) C
	// Run runs the service with cfg until ctx is cancelled.
	Run func(ctx context.Context, cfg C, env Env) error
}

// Observable is a service configuration that takes the daemon's logger and
// metrics registry (infra.Settings, embedded in every service's Config).
type Observable interface {
	Observe(log *slog.Logger, reg prometheus.Registerer)
}

// Managed is a service configuration that adds routes to the management
// listener (infra.Settings: the service's /readyz).
type Managed interface {
	Manage(mux *http.ServeMux)
}

// Service runs a service binary whose whole main is "read the config, run
// the service": name and about for -h, the service's ConfigFromEnv and Run.
// It does not return.
func Service[C any, P interface {
	*C
	Observable
}](name, about string, read func(*config.Loader) C, run func(context.Context, C) error) {
	Main(serviceBinary[C, P](name, about, read, run))
}

// serviceBinary is the Binary of Service: it hands the service the
// daemon's logger and registry, and its management mux when it takes one.
func serviceBinary[C any, P interface {
	*C
	Observable
}](name, about string, read func(*config.Loader) C, run func(context.Context, C) error) Binary[C] {
	return Binary[C]{Name: name, About: about, Config: read, Run: func(ctx context.Context, cfg C, env Env) error {
		P(&cfg).Observe(env.Logger, env.Registry)
		if m, ok := any(P(&cfg)).(Managed); ok {
			m.Manage(env.Management)
		}
		return run(ctx, cfg)
	}}
}

// Main runs b and does not return: it exits 0 after a requested stop or
// -h, 2 on a usage or configuration error (one line each), 1 when the
// service fails.
func Main[C any](b Binary[C]) {
	os.Exit(main(b, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr))
}

func main[C any](b Binary[C], args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) int {
	switch {
	case len(args) == 1 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help"):
		fmt.Fprint(stdout, Help(b))
		return 0
	case len(args) > 0:
		// Settings are environment variables only: a flag that seems to
		// work but is ignored is worse than a refusal.
		fmt.Fprintf(stderr, "%s: unexpected argument %q: settings are environment variables (%s -h lists them)\n", b.Name, args[0], b.Name)
		return 2
	}
	l := config.New(lookup)
	opts := OptionsFromEnv(l)
	cfg := b.Config(l)
	if err := l.Err(); err != nil {
		for line := range strings.SplitSeq(err.Error(), "\n") {
			fmt.Fprintf(stderr, "%s: %s\n", b.Name, line)
		}
		return 2
	}
	log, _ := logx.New(stderr, opts.LogLevel) // checked by OptionsFromEnv
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stopTracing, err := tracing.Start(ctx, b.Name, opts.Tracing, log)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", b.Name, err)
		return 2
	}
	defer stopTracing()
	g, gctx := errgroup.WithContext(ctx)
	// The management listener lives as long as the service: it stops when
	// Run returns, whatever Run returned.
	runCtx, ran := context.WithCancel(gctx)
	management := ManagementMux(reg)
	g.Go(func() error {
		defer ran()
		return b.Run(gctx, cfg, Env{Logger: log.With("binary", b.Name), Registry: reg, Management: management})
	})
	if opts.ManagementAddr != "" {
		g.Go(func() error {
			lis, err := net.Listen("tcp", opts.ManagementAddr)
			if err != nil {
				return fmt.Errorf("%s: %w", EnvManagementAddr, err)
			}
			return ServeManagement(runCtx, lis, management)
		})
	}
	if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(stderr, "%s: %v\n", b.Name, err)
		return 1
	}
	return 0
}

// Vars lists every setting b reads, its own and the daemon's.
func Vars[C any](b Binary[C]) []config.Var {
	l := config.New(config.Empty)
	b.Config(l)
	OptionsFromEnv(l)
	return l.Vars()
}

// Help is b's -h text: what it runs and every setting it reads.
func Help[C any](b Binary[C]) string {
	var s strings.Builder
	fmt.Fprintf(&s, "usage: %s\n\n%s\nIt takes no arguments; these environment variables configure it:\n\n", b.Name, b.About)
	s.WriteString(config.Text(Vars(b)))
	return s.String()
}

// ManagementMux serves the management listener's common routes: the
// metrics of g at /metrics, a liveness /healthz and Go's profiles under
// /debug/pprof/. Callers may add routes (a /readyz) to it.
func ManagementMux(g prometheus.Gatherer) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	// Where the CPU goes under real load, for whoever is on call, and the
	// profile a build optimises for (cmd/latchkey/default.pgo). The
	// management listener is not public, like the metrics; a CPU profile
	// is at most the write timeout below (30 s) long.
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	// For orchestrators' liveness probes: the gRPC ports speak only
	// mutual TLS, which probes such as Kubernetes' cannot.
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	return mux
}

// ServeManagement serves h on lis until ctx is cancelled, then closes lis.
func ServeManagement(ctx context.Context, lis net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(lis); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
