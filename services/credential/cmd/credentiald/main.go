// Command credentiald runs the credential service on its own, as production deployments do,
// configured by environment variables (see the README).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/latchkey/latchkey/libs/config"
	"github.com/latchkey/latchkey/libs/logx"
	"github.com/latchkey/latchkey/services/credential/server"
)

func main() {
	log, err := logx.FromEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	l := config.New(os.LookupEnv)
	cfg := server.ConfigFromEnv(l)
	if err := l.Err(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	cfg.Logger = log
	cfg.Registerer = prometheus.DefaultRegisterer
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := server.Run(ctx, cfg); err != nil {
		log.Error("credential service stopped", "err", err)
		os.Exit(1)
	}
}
