// Command latchkey is the all-in-one binary and operator CLI.
//
//	latchkey run       every service and the gateway in one process
//	latchkey migrate   apply database migrations and exit
//	latchkey config    print every setting (environment variable) as a table
//	latchkey tenant    create and list tenants, as an operator, through the API
//	latchkey keys      rotate the access-token signing key
//	latchkey bench     measure what a deployment on this machine carries
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/latchkey/latchkey/cmd/allinone"
	"github.com/latchkey/latchkey/cmd/latchkey/internal/bench"
	"github.com/latchkey/latchkey/gateway"
	"github.com/latchkey/latchkey/libs/config"
	"github.com/latchkey/latchkey/libs/daemon"
	"github.com/latchkey/latchkey/libs/logx"
	"github.com/latchkey/latchkey/libs/natsx"
	"github.com/latchkey/latchkey/libs/passhash"
	"github.com/latchkey/latchkey/libs/tracing"
	account "github.com/latchkey/latchkey/services/account/server"
	credential "github.com/latchkey/latchkey/services/credential/server"
	mfa "github.com/latchkey/latchkey/services/mfa/server"
	notification "github.com/latchkey/latchkey/services/notification/server"
	recovery "github.com/latchkey/latchkey/services/recovery/server"
)

// allVars is every setting any Latchkey binary reads: this one's, each
// service binary's and gatewayd's, each once (the same reader gives a
// shared variable the same meaning everywhere).
func allVars() []config.Var {
	l := config.New(config.Empty)
	readAll(l)
	return l.Vars()
}

// readAll reads every binary's settings through l.
func readAll(l *config.Loader) {
	allinone.ConfigFromEnv(l)
	daemon.OptionsFromEnv(l)
	account.ConfigFromEnv(l)
	credential.ConfigFromEnv(l)
	recovery.ConfigFromEnv(l)
	mfa.ConfigFromEnv(l)
	notification.ConfigFromEnv(l)
	gateway.ConfigFromEnv(l)
}

const usage = `usage: latchkey <command>

commands:
  run       run every service and the gateway in one process
  migrate   apply database migrations and exit
  config    print the settings (environment variables) as a Markdown table
  tenant    create and list tenants through the API (latchkey tenant for help)
  keys      rotate the access-token signing key (latchkey keys for help)
  certs     make a development CA and a certificate for each service (latchkey certs -h)
  nats-auth make an nkey for each service and the nats-server permissions (latchkey nats-auth -h)
  bench     measure log-ins, reads, events, memory and e-mail against the targets (latchkey bench -h)

Settings come from environment variables; "latchkey config" lists them.
`

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "latchkey:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("expected a command")
	}
	l := config.New(os.LookupEnv)
	cfg := allinone.ConfigFromEnv(l)
	opts := daemon.OptionsFromEnv(l)
	switch args[0] {
	case "config":
		fmt.Fprint(stdout, config.Markdown(allVars()))
		return nil
	case "certs":
		return certsCommand(args[1:], stdout, stderr)
	case "nats-auth":
		return natsAuthCommand(args[1:], stdout, stderr)
	case "bench":
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return bench.Command(ctx, args[1:], stdout, stderr)
	case "run", "migrate", "tenant", "keys":
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
	if err := l.Err(); err != nil {
		return err
	}
	log, err := logx.New(stderr, opts.LogLevel)
	if err != nil {
		return err
	}
	cfg.Logger = log
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	switch args[0] {
	case "tenant":
		return tenantCommand(ctx, cfg, args[1:], stdout, stderr)
	case "keys":
		return keysCommand(ctx, cfg, args[1:], stdout, stderr)
	}
	if len(args) != 1 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%s takes no arguments", args[0])
	}
	if args[0] == "migrate" {
		if err := allinone.Migrate(ctx, cfg); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "migrations applied")
		return nil
	}

	stopTracing, err := tracing.Start(ctx, "latchkey", opts.Tracing, log)
	if err != nil {
		return err
	}
	defer stopTracing()
	if limit := passhash.BoundMemory(cfg.HashMemory(), os.Getenv); limit > 0 {
		log.Info("Go memory limit set from the hash pools (GOMEMLIMIT or GOGC overrides)", "bytes", limit)
	}
	inst, err := allinone.Start(ctx, cfg)
	if err != nil {
		return err
	}
	printRunning(stdout, inst)
	fmt.Fprintln(stdout, "Press Ctrl-C to stop.")
	return inst.Wait()
}

// printRunning tells where everything of a started all-in-one is.
func printRunning(w io.Writer, inst *allinone.Instance) {
	fmt.Fprintf(w, "Latchkey is running.\n  REST:  %s  (OpenAPI: %s/openapi.json)\n  gRPC:  %s\n  NATS:  %s  (events on %s)\n",
		inst.HTTPURL, inst.HTTPURL, inst.GRPCAddr, inst.NATSURL, inst.NATSNames.Subject(natsx.EventsSubjects))
	fmt.Fprintf(w, "  Pages: %s/ui/sign-in\n", inst.HTTPURL)
	if inst.MailboxURL != "" {
		fmt.Fprintf(w, "  Mail:  %s  (this machine only; no SMTP server set: e-mail lands here)\n", inst.MailboxURL)
	}
	if inst.ManagementURL != "" {
		fmt.Fprintf(w, "  Management:  %s/metrics, %s/readyz\n", inst.ManagementURL, inst.ManagementURL)
	}
	switch {
	case inst.OperatorTokenNew:
		fmt.Fprintf(w, "  Operator token generated: %s\n", inst.OperatorTokenPath)
	case inst.OperatorTokenPath != "":
		fmt.Fprintf(w, "  Operator token: %s\n", inst.OperatorTokenPath)
	default:
		fmt.Fprintln(w, "  Operator token: from LATCHKEY_OPERATOR_TOKEN")
	}
	if inst.SigningKeyKEKNew {
		fmt.Fprintf(w, "  Signing-key KEK generated: %s  (back it up with the data: the signing keys do not open without it)\n", inst.SigningKeyKEKPath)
	}
	if inst.MFASecretKeysNew {
		fmt.Fprintf(w, "  MFA secret keys generated: %s  (back it up with the data: TOTP secrets do not open without it)\n", inst.MFASecretKeysPath)
	}
	if inst.UISessionKeysNew {
		fmt.Fprintf(w, "  Web session keys generated: %s  (losing it only signs everyone out of the hosted pages)\n", inst.UISessionKeysPath)
	}
}
