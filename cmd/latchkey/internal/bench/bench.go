// Package bench is `latchkey bench`: it measures, in one run, what a
// deployment on this machine can carry — the raw Argon2id rate next to
// password log-ins, authenticated reads next to a bare echo through the
// same gateway code, refresh, event latency, peak memory under a burst of
// log-ins and the e-mail path — and prints them side by side with the
// targets of issue 14, as ratios measured in the same run. Operators use
// it to size a deployment; the README shows its output.
//
// By default it starts the suite itself as a child process (`<binary>
// run`, throwaway data, SQLite or -postgres, embedded NATS); with -gateway
// it measures a running suite instead and skips what it cannot see from
// outside (memory, e-mail).
package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/latchkey/latchkey/cmd/internal/scratchdb"
	"github.com/latchkey/latchkey/libs/config"
	"github.com/latchkey/latchkey/libs/daemon"
	"github.com/latchkey/latchkey/libs/infra"
	"github.com/latchkey/latchkey/libs/natsx"
	"github.com/latchkey/latchkey/libs/passhash"
)

const usage = `usage: latchkey bench [flags]

Measures this machine's Argon2id rate, password log-ins (REST and gRPC),
authenticated reads next to a bare echo through the same gateway code,
refresh, event latency, peak memory under 500 concurrent log-ins and the
e-mail path, and prints them with the targets of issue 14. It creates a
tenant of its own (bench-…) and its accounts through the operator API.

By default it starts the suite as a child process (<binary> run) on free
loopback ports with a throwaway data directory, embedded NATS and SQLite
(or, with -postgres, a new database on that server), and stops it at the
end. The child inherits the Latchkey
settings of the environment (LATCHKEY_ARGON2_*, LATCHKEY_HASH_POOL, ...);
the bench turns the log-in rate limit and the e-mail limits off in it and
points its e-mail at an SMTP sink of its own.

With -gateway it measures a running suite instead (give -grpc and
-operator-token too, and -nats for the event row); memory and e-mail are
skipped. Its log-in rate limit (LATCHKEY_RATE_LOGIN_PER_MINUTE) must be
off or high: every call comes from this one address. The Argon2id row uses
this process's LATCHKEY_ARGON2_* settings: export the suite's.

flags:
`

// options are the command's flags.
type options struct {
	binary, postgres                 string
	gateway, grpc, nats, operatorTok string
	quick                            bool
	warmup, measure                  time.Duration
	eventsFor                        time.Duration
	eventRate, mailCount, burst      int
	readers                          int
	// phases are the phases to run (-phases; every one by default).
	phases map[string]bool
}

// phaseNames are the phases in the order they run.
var phaseNames = []string{"login", "read", "refresh", "events", "memory", "mail"}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	self, _ := os.Executable()
	fs.StringVar(&o.binary, "binary", self, "the latchkey binary to start as the suite (an older build measures \"before\")")
	fs.StringVar(&o.postgres, "postgres", "", "PostgreSQL server for the suite it starts: the bench makes a database of its own there (the user needs CREATEDB), gives it as LATCHKEY_POSTGRES_URL and drops it at the end; empty: SQLite")
	fs.StringVar(&o.gateway, "gateway", "", "REST base URL of a running suite to measure instead of starting one")
	fs.StringVar(&o.grpc, "grpc", "", "with -gateway: its public gRPC address (plaintext)")
	fs.StringVar(&o.nats, "nats", "", "with -gateway: its NATS URL, for the event row (LATCHKEY_NATS_PREFIX applies); empty: the row is skipped")
	fs.StringVar(&o.operatorTok, "operator-token", os.Getenv("LATCHKEY_OPERATOR_TOKEN"), "with -gateway: an operator token (default LATCHKEY_OPERATOR_TOKEN)")
	fs.BoolVar(&o.quick, "quick", false, "a short run (seconds per phase instead of ten): a smoke test, not a measurement")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "per load phase: calls in this first part are not counted")
	fs.DurationVar(&o.measure, "duration", 10*time.Second, "per load phase: how long it is measured")
	fs.DurationVar(&o.eventsFor, "events-duration", 10*time.Second, "how long the event phase makes changes")
	fs.IntVar(&o.eventRate, "event-rate", 200, "changes a second in the event phase")
	fs.IntVar(&o.readers, "readers", 16, "callers of the read and refresh phases")
	fs.IntVar(&o.burst, "burst", 500, "concurrent log-ins of the memory phase")
	fs.IntVar(&o.mailCount, "mails", 3000, "e-mails of the e-mail phase")
	phases := fs.String("phases", strings.Join(phaseNames, ","), "the phases to run, comma-separated: "+strings.Join(phaseNames, ", ")+" (to measure one thing, or to profile the suite under one load)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.phases = map[string]bool{}
	for name := range strings.SplitSeq(*phases, ",") {
		name = strings.TrimSpace(name)
		if !slices.Contains(phaseNames, name) {
			return o, fmt.Errorf("-phases: %q is not a phase (%s)", name, strings.Join(phaseNames, ", "))
		}
		o.phases[name] = true
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("bench takes no arguments, got %q", fs.Args())
	}
	if o.quick {
		// Shorter defaults; a flag given explicitly still wins.
		given := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
		for name, value := range map[string]string{"warmup": "300ms", "duration": "1500ms", "events-duration": "2s", "mails": "200"} {
			if !given[name] {
				_ = fs.Set(name, value)
			}
		}
	}
	if o.gateway != "" && (o.grpc == "" || o.operatorTok == "") {
		return o, errors.New("-gateway needs -grpc and -operator-token (or LATCHKEY_OPERATOR_TOKEN)")
	}
	if o.gateway != "" && o.postgres != "" {
		return o, errors.New("-postgres is for a suite the bench starts; a running suite has its own store")
	}
	if o.eventRate < 1 || o.readers < 1 || o.burst < 1 || o.mailCount < 1 || o.measure <= 0 {
		return o, errors.New("-event-rate, -readers, -burst, -mails and -duration must be above zero")
	}
	return o, nil
}

// settings are the Latchkey settings the bench reads the way the suite
// does: the hash cost and pool, the NATS prefix, the log level.
type settings struct {
	hash     passhash.Settings
	names    natsx.Names
	logLevel string
}

func readSettings() (settings, error) {
	l := config.New(os.LookupEnv)
	s := settings{hash: passhash.SettingsFromEnv(l), names: infra.NATSNames(l), logLevel: daemon.OptionsFromEnv(l).LogLevel}
	if s.hash.Params == (passhash.Params{}) {
		s.hash.Params = passhash.DefaultParams
	}
	return s, l.Err()
}

// Command runs `latchkey bench args…`: the table goes to stdout, progress
// to stderr. It fails only when it cannot measure at all; a missed target
// is a line of the table, not an error.
func Command(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	set, err := readSettings()
	if err != nil {
		return err
	}
	r := &run{o: o, set: set, progress: stderr, loadBefore: loadAverage()}
	if o.gateway != "" {
		r.t = &target{httpURL: o.gateway, grpcAddr: o.grpc, natsURL: o.nats, operatorToken: o.operatorTok}
		r.mode = "a running suite at " + o.gateway
	} else {
		if r.sink, err = startSink(); err != nil {
			return err
		}
		defer r.sink.close()
		store, dbURL := "SQLite", ""
		if o.postgres != "" {
			// A database of the run's own: the suite's data directory is
			// thrown away, and what it sealed must not outlive it.
			db, err := scratchdb.Create(ctx, o.postgres, "latchkey_bench")
			if err != nil {
				return fmt.Errorf("-postgres: %w", err)
			}
			defer func() {
				if err := db.Drop(); err != nil {
					fmt.Fprintf(stderr, "bench: dropping the run's database: %v\n", err)
				}
			}()
			store, dbURL = "PostgreSQL (a new database on the server, dropped at the end)", db.URL
		}
		fmt.Fprintf(stderr, "starting the suite: %s run (%s, embedded NATS)\n", o.binary, store)
		if r.t, err = startChild(ctx, o.binary, dbURL, r.sink.addr); err != nil {
			return err
		}
		r.mode = fmt.Sprintf("a suite it started: %s run, %s, embedded NATS", o.binary, store)
	}
	if r.t.child != nil {
		// Deferred, so that the child is stopped whatever happens here.
		defer func() {
			if err := r.t.child.stop(); err != nil {
				fmt.Fprintln(stderr, "bench:", err)
			}
		}()
	}
	if err := r.all(ctx); err != nil {
		return err
	}
	r.print(stdout)
	return nil
}

// run is one bench run: its settings, its target and the rows measured.
type run struct {
	o        options
	set      settings
	progress io.Writer
	mode     string
	// loadBefore is the machine's load average when the run began.
	loadBefore string
	t          *target
	sink       *sink
	rows       []row
	notes      []string
}

func (r *run) cores() int { return runtime.GOMAXPROCS(0) }
