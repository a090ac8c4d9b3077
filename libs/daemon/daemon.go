// Package daemon is the main function of every production binary: it reads
// the configuration from the environment, sets up JSON logging, serves
// Prometheus metrics, stops on SIGINT/SIGTERM and exits non-zero on failure.
// Each binary's main only says which service to run.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"

	"github.com/latchkey/latchkey/libs/config"
	"github.com/latchkey/latchkey/libs/logx"
)

// Env is what a binary's setup gets: the configuration loader, the logger
// and the metrics registry its service registers on.
type Env struct {
	Config   *config.Loader
	Logger   *slog.Logger
	Registry *prometheus.Registry
}

// Setup reads the service's configuration through env.Config and returns
// the function that runs it until its context is cancelled.
type Setup func(env Env) (run func(ctx context.Context) error, err error)

// Main runs the binary named name and does not return.
func Main(name string, setup Setup) {
	if err := run(name, setup); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

func run(name string, setup Setup) error {
	l := config.New(os.LookupEnv)
	level := l.String(logx.EnvLevel, "info", "log level: debug, info, warn or error")
	metricsAddr := l.String("LATCHKEY_METRICS_ADDR", "", "serve Prometheus /metrics on this address (empty: off)")
	log, logErr := logx.New(os.Stderr, level)
	if log == nil {
		log = slog.Default()
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	serve, err := setup(Env{Config: l, Logger: log.With("binary", name), Registry: reg})
	// Every configuration error at once, the variable named in each.
	if err := errors.Join(logErr, l.Err(), err); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return serve(gctx) })
	if metricsAddr != "" {
		g.Go(func() error { return serveMetrics(gctx, metricsAddr, reg) })
	}
	return g.Wait()
}

// serveMetrics serves /metrics on addr until ctx is cancelled.
func serveMetrics(ctx context.Context, addr string, g prometheus.Gatherer) error {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("LATCHKEY_METRICS_ADDR: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
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
