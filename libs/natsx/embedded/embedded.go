// Package embedded runs nats-server with JetStream inside the calling
// process, for tests and for the all-in-one `make run` binary, so neither
// needs a NATS installed.
package embedded

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/logger"
	"github.com/nats-io/nats-server/v2/server"
)

// readyTimeout bounds the wait for the server to accept clients. Starting
// takes a few milliseconds; the margin is for a loaded CI machine.
const readyTimeout = 10 * time.Second

// Options says where the embedded server listens and keeps its data.
type Options struct {
	// Host is the address to listen on; empty means 127.0.0.1, so that an
	// embedded server is never reachable from the network by accident.
	Host string
	// Port is the client port: -1 picks a free one (what tests want),
	// 0 means the NATS default 4222.
	Port int
	// StoreDir is where JetStream keeps streams on disk; starting again
	// with the same StoreDir finds the same streams and messages. It is
	// required: nats-server's default is a shared folder under the system
	// temp dir, which two servers would fight over.
	StoreDir string
	// ServerName names the server in monitoring and in JetStream's
	// metadata; empty means "latchkey-embedded".
	ServerName string
	// AuthFile is a nats-server configuration file whose authorization
	// block (users, nkeys and their permissions, as `latchkey nats-auth`
	// writes) the server enforces; empty: every client is admitted.
	AuthFile string
	// Log sends nats-server's own log to stderr. Off by default because
	// a server per test would drown the test output.
	Log bool
}

// Server is a running embedded nats-server.
type Server struct {
	ns *server.Server
}

// Start runs a nats-server with JetStream and returns once it accepts
// clients and JetStream is up.
func Start(opts Options) (*Server, error) {
	if opts.StoreDir == "" {
		return nil, errors.New("embedded nats: StoreDir is required")
	}
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	if opts.ServerName == "" {
		opts.ServerName = "latchkey-embedded"
	}
	sopts := &server.Options{
		ServerName: opts.ServerName,
		Host:       opts.Host,
		Port:       opts.Port,
		JetStream:  true,
		StoreDir:   opts.StoreDir,
		// The host process owns signals (Ctrl-C means stop the tests,
		// not just NATS).
		NoSigs: true,
		// The logger is installed below, whether quiet or not.
		NoLog: true,
	}
	if opts.AuthFile != "" {
		auth, err := server.ProcessConfigFile(opts.AuthFile)
		if err != nil {
			return nil, fmt.Errorf("embedded nats: %w", err)
		}
		sopts.Users, sopts.Nkeys = auth.Users, auth.Nkeys
	}
	ns, err := server.NewServer(sopts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	// nats-server reports start-up failures (port taken, JetStream store
	// unusable) only through its logger, so keep its errors even when
	// quiet, to put them into the returned error.
	errs := &errorLog{}
	if opts.Log {
		errs.next = logger.NewStdLogger(true, false, false, false, false)
	}
	ns.SetLogger(errs, false, false)

	ns.Start()
	// Start returns without a word when it fails (it only logs), so poll
	// for readiness in short steps and give up as soon as a fatal error
	// is logged rather than after the whole timeout.
	deadline := time.Now().Add(readyTimeout)
	for !ns.ReadyForConnections(20 * time.Millisecond) {
		if errs.failed() || time.Now().After(deadline) {
			ns.Shutdown()
			ns.WaitForShutdown()
			return nil, fmt.Errorf("embedded nats: did not start: %s", errs.String())
		}
	}
	if !ns.JetStreamEnabled() {
		ns.Shutdown()
		ns.WaitForShutdown()
		return nil, fmt.Errorf("embedded nats: JetStream did not start: %s", errs.String())
	}
	return &Server{ns: ns}, nil
}

// ClientURL is the URL clients connect to, e.g. nats://127.0.0.1:45123.
func (s *Server) ClientURL() string {
	return s.ns.ClientURL()
}

// Shutdown stops the server and returns once it has stopped, so the
// StoreDir can be removed or reused by the next Start.
func (s *Server) Shutdown() {
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
}

// errorLog records error and fatal messages and passes everything to next
// when there is one.
type errorLog struct {
	next  server.Logger
	mu    sync.Mutex
	msgs  []string
	fatal bool
}

// failed reports whether a fatal error was logged: nats-server logs one
// and gives up when it cannot listen or cannot start JetStream.
func (l *errorLog) failed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.fatal
}

func (l *errorLog) keep(format string, v []any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.msgs) < 20 {
		l.msgs = append(l.msgs, fmt.Sprintf(format, v...))
	}
}

func (l *errorLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.msgs) == 0 {
		return "no error logged"
	}
	return strings.Join(l.msgs, "; ")
}

func (l *errorLog) Noticef(format string, v ...any) {
	if l.next != nil {
		l.next.Noticef(format, v...)
	}
}

func (l *errorLog) Warnf(format string, v ...any) {
	if l.next != nil {
		l.next.Warnf(format, v...)
	}
}

func (l *errorLog) Fatalf(format string, v ...any) {
	l.keep(format, v)
	l.mu.Lock()
	l.fatal = true
	l.mu.Unlock()
	if l.next != nil {
		// Not next.Fatalf: the std logger exits the process, and an
		// embedded server must not take its host down.
		l.next.Errorf(format, v...)
	}
}

func (l *errorLog) Errorf(format string, v ...any) {
	l.keep(format, v)
	if l.next != nil {
		l.next.Errorf(format, v...)
	}
}

func (l *errorLog) Debugf(format string, v ...any) {
	if l.next != nil {
		l.next.Debugf(format, v...)
	}
}

func (l *errorLog) Tracef(format string, v ...any) {
	if l.next != nil {
		l.next.Tracef(format, v...)
	}
}
