// Command runcluster is `make cluster`: it builds the binaries and runs a
// local cluster (every service in two replicas as its own process, the
// gateway, three NATS nodes, mutual TLS, on loopback) until Ctrl-C, so an
// operator can try what the separate binaries do before deploying them.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/latchkey/latchkey/cmd/cluster"
)

func main() {
	dir := flag.String("dir", ".latchkey-cluster", "folder for certificates, NATS storage, data and logs")
	pg := flag.String("postgres", os.Getenv("LATCHKEY_POSTGRES_URL"), "PostgreSQL server URL with a database to connect to (the cluster creates its own database); default $LATCHKEY_POSTGRES_URL")
	replicas := flag.Int("replicas", 2, "replicas of each service")
	gateways := flag.Int("gateways", 1, "gateway replicas")
	smtp := flag.String("smtp", "", "smtp:// URL for e-mail; empty: the mailbox folder in -dir")
	flag.Parse()
	if *pg == "" {
		fmt.Fprintln(os.Stderr, "runcluster: give -postgres or LATCHKEY_POSTGRES_URL, e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	abs, err := filepath.Abs(*dir)
	if err != nil {
		fail(err)
	}
	bin := filepath.Join(abs, "bin")
	fmt.Println("building the binaries into", bin)
	if err := cluster.Build(ctx, bin); err != nil {
		fail(err)
	}
	c, err := cluster.Start(ctx, cluster.Config{Dir: abs, Bin: bin, PostgresURL: *pg, Replicas: *replicas, GatewayReplicas: *gateways, SMTPURL: *smtp})
	if err != nil {
		fail(err)
	}
	defer c.Close()
	fmt.Printf("\nLatchkey cluster ready\n  REST and pages  %s\n  gRPC            %s\n  operator token  %s\n  database        %s\n  NATS            %v (every service its own user; read the events with %s)\n  logs            %s\n\n",
		c.HTTPURL, c.GRPCAddr, c.OperatorToken, c.DatabaseURL, c.NATSURLs, c.SubscriberSeed, filepath.Join(abs, "logs"))
	for _, p := range c.Processes() {
		what := "/metrics"
		if p.Role == "nats" {
			what = " (monitoring)"
		}
		fmt.Printf("  %-15s %s%s\n", p.Name, p.ManagementURL, what)
	}
	fmt.Println("\nCtrl-C stops it (and drops its database).")
	<-ctx.Done()
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "runcluster:", err)
	os.Exit(1)
}
