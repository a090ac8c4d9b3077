package infra

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/config"
	"github.com/latchkey/latchkey/libs/grpcx"
	"github.com/latchkey/latchkey/libs/mtls"
	"github.com/latchkey/latchkey/libs/natsx"
)

// Settings are what every service's server.Config starts with: where its
// infrastructure is and what it reports to. A service binary reads them
// with SettingsFromEnv; the all-in-one binary fills them itself (its own
// listeners, a shared NATS connection, SQLite in its data directory).
type Settings struct {
	// GRPCAddr is where the service's public API listens (for the
	// gateway), unless Listener is set.
	GRPCAddr string
	Listener net.Listener
	// InternalAddr is where its internal API listens (for the other
	// services), unless InternalListener is set.
	InternalAddr     string
	InternalListener net.Listener
	// Identity is the service's certificate and the CA it trusts: both
	// listeners serve mutual TLS with it, and calls to peers present it.
	// Nil serves and dials plaintext, which only tests do.
	Identity *mtls.Identity
	// InternalReflection turns gRPC reflection on for the internal port
	// (off by default: it lists every internal method to whoever asks).
	InternalReflection bool
	// PostgresURL selects PostgreSQL (a schema named after the service);
	// empty selects SQLite in DataDir.
	PostgresURL string
	// DataDir holds SQLite files and what a service keeps on disk.
	DataDir string
	// NATS is a connection to share; when nil one is made to NATSURL.
	NATS    *nats.Conn
	NATSURL string
	// NATSNames are the deployment's stream, subject and inbox names on
	// NATS, from its prefix (LATCHKEY_NATS_PREFIX; zero: no prefix).
	NATSNames natsx.Names
	// NATSReplicas is how many copies of each stream a NATS cluster keeps
	// (LATCHKEY_NATS_REPLICAS; 0 means 1).
	NATSReplicas int
	// NATSNKeyFile holds the nkey user seed the service authenticates to
	// NATS with (LATCHKEY_NATS_NKEY_FILE; empty: no authentication). It is
	// unused when NATS is given.
	NATSNKeyFile string
	// Clock is the time (default: the system clock).
	Clock clock.Clock
	// Logger receives the service's logs (default: slog.Default()).
	Logger *slog.Logger
	// Registerer receives the service's metrics (nil: none).
	Registerer prometheus.Registerer
	// Management, when set, is the management listener's mux, where the
	// service adds its /readyz (nil: none; the all-in-one's is the
	// gateway's).
	Management *http.ServeMux
}

// WithDefaults fills the unset clock and logger.
func (s Settings) WithDefaults() Settings {
	if s.Clock == nil {
		s.Clock = clock.System{}
	}
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	return s
}

// Shared variables, read here once so that each has one meaning wherever
// it is read.
const (
	EnvPostgresURL  = "LATCHKEY_POSTGRES_URL"
	EnvNATSURL      = "LATCHKEY_NATS_URL"
	EnvDataDir      = "LATCHKEY_DATA_DIR"
	EnvNATSPrefix   = "LATCHKEY_NATS_PREFIX"
	EnvNATSReplicas = "LATCHKEY_NATS_REPLICAS"
	EnvNATSNKeyFile = "LATCHKEY_NATS_NKEY_FILE"
)

const (
	descPostgresURL = "PostgreSQL URL, one schema per service; required by the service binaries; empty in the all-in-one: SQLite files in the data directory"
	descNATSURL     = "NATS server with JetStream; required by the service binaries; empty in the all-in-one: the embedded NATS (gatewayd: reported by its /readyz when set); while it is down the outboxes keep the events and /readyz says degraded, not unready"
	descDataDir     = "data directory: SQLite files and embedded NATS storage (all-in-one), the generated operator token and first operator's password (account), the built-in mailbox (notification)"
	defaultDataDir  = "./.latchkey"
)

// PostgresURL reads LATCHKEY_POSTGRES_URL where it may be empty.
func PostgresURL(l *config.Loader) string { return l.Secret(EnvPostgresURL, descPostgresURL) }

// NATSURL reads LATCHKEY_NATS_URL where it may be empty.
func NATSURL(l *config.Loader) string { return l.String(EnvNATSURL, "", descNATSURL) }

// NATSNames reads LATCHKEY_NATS_PREFIX, refusing a prefix that is not a
// NATS subject token.
func NATSNames(l *config.Loader) natsx.Names {
	p := l.String(EnvNATSPrefix, "", "prefix of this deployment's NATS names, so several deployments can share one NATS: subjects <prefix>.latchkey.events.v1.>, streams <prefix>_LATCHKEY_EVENTS; letters, digits, '-' and '_'; empty: latchkey.events.v1.> and LATCHKEY_EVENTS")
	if err := natsx.CheckPrefix(p); err != nil {
		l.Invalid(EnvNATSPrefix, err)
		return natsx.Names{}
	}
	return natsx.Names{Prefix: p}
}

// NATSReplicas reads LATCHKEY_NATS_REPLICAS.
func NATSReplicas(l *config.Loader) int {
	n := l.Int(EnvNATSReplicas, 1, "copies a NATS cluster keeps of each Latchkey stream (events, notify): 1, 3 or 5, at most the cluster's size; a change is applied to the existing streams at the next start")
	if err := natsx.CheckReplicas(n); err != nil {
		l.Invalid(EnvNATSReplicas, err)
		return 1
	}
	return n
}

// NATSNKeyFile reads LATCHKEY_NATS_NKEY_FILE.
func NATSNKeyFile(l *config.Loader) string {
	return l.String(EnvNATSNKeyFile, "", "service binaries and gatewayd: file holding this binary's NATS nkey user seed (latchkey nats-auth writes one per service with the server's permissions; latchkey keys rotate: the credential service's); empty: connect without authentication")
}

// DataDir reads LATCHKEY_DATA_DIR.
func DataDir(l *config.Loader) string { return l.String(EnvDataDir, defaultDataDir, descDataDir) }

// DefaultGRPCAddrs are where each service binary listens unless told
// otherwise, one port each so that all of them can run on one host.
var DefaultGRPCAddrs = map[string]string{
	"account":      "127.0.0.1:7001",
	"credential":   "127.0.0.1:7002",
	"recovery":     "127.0.0.1:7003",
	"mfa":          "127.0.0.1:7004",
	"notification": "127.0.0.1:7005",
}

// DefaultInternalAddrs are where each service binary's internal API
// listens unless told otherwise.
var DefaultInternalAddrs = map[string]string{
	"account":      "127.0.0.1:7101",
	"credential":   "127.0.0.1:7102",
	"recovery":     "127.0.0.1:7103",
	"mfa":          "127.0.0.1:7104",
	"notification": "127.0.0.1:7105",
}

// SettingsFromEnv reads the settings of the service binary of service
// (e.g. "account"): its listen addresses (the public API's
// LATCHKEY_<SERVICE>_GRPC_ADDR when public is set, the internal API's
// LATCHKEY_<SERVICE>_INTERNAL_GRPC_ADDR), its certificate, PostgreSQL and
// NATS. The certificate, the database and NATS are required: the embedded
// NATS, the SQLite files and the generated CA are the all-in-one's, not a
// production service's.
func SettingsFromEnv(l *config.Loader, service string, public bool) Settings {
	up := strings.ToUpper(service)
	s := Settings{
		InternalAddr: l.String("LATCHKEY_"+up+"_INTERNAL_GRPC_ADDR", DefaultInternalAddrs[service],
			service+" service binary: listen address of its internal gRPC API (other services only, mutual TLS)"),
		InternalReflection: l.Bool("LATCHKEY_INTERNAL_REFLECTION", false,
			"service binaries: serve gRPC reflection on the internal ports too (it lists every internal method)"),
		Identity:     IdentityFromEnv(l, service),
		PostgresURL:  l.RequiredSecret(EnvPostgresURL, descPostgresURL),
		NATSURL:      l.Required(EnvNATSURL, descNATSURL),
		NATSNames:    NATSNames(l),
		NATSReplicas: NATSReplicas(l),
		NATSNKeyFile: NATSNKeyFile(l),
		DataDir:      DataDir(l),
	}
	if public {
		s.GRPCAddr = l.String("LATCHKEY_"+up+"_GRPC_ADDR", DefaultGRPCAddrs[service],
			service+" service binary: listen address of its public gRPC API (the gateway's backend, mutual TLS)")
	}
	return s
}

// IdentityFromEnv reads the certificate of service (a binary's own name,
// e.g. "gateway"): LATCHKEY_TLS_CA_FILE, LATCHKEY_TLS_CERT_FILE and
// LATCHKEY_TLS_KEY_FILE, all required (`latchkey certs` makes a
// development set). A certificate that names another service is refused,
// so a misplaced file cannot make one service pose as another.
func IdentityFromEnv(l *config.Loader, service string) *mtls.Identity {
	ca := l.Required("LATCHKEY_TLS_CA_FILE", "service binaries and gatewayd: PEM file of the CA that issues the services' certificates (latchkey certs makes one for development)")
	cert := l.Required("LATCHKEY_TLS_CERT_FILE", "service binaries and gatewayd: PEM file of this binary's certificate, naming it in a URI SAN latchkey://service/<name>")
	key := l.RequiredSecret("LATCHKEY_TLS_KEY_FILE", "service binaries and gatewayd: PEM file of this binary's private key")
	if ca == "" || cert == "" || key == "" {
		return nil
	}
	id, err := mtls.LoadIdentity(ca, cert, key)
	if err != nil {
		l.Invalid("LATCHKEY_TLS_CERT_FILE", err)
		return nil
	}
	if id.Service != service {
		l.Invalid("LATCHKEY_TLS_CERT_FILE", fmt.Errorf("the certificate is the %s service's, not %s's", id.Service, service))
		return nil
	}
	return id
}

// PeerAddr reads the address of the internal API of the service peer
// (LATCHKEY_<PEER>_INTERNAL_ADDR), which a service binary cannot work
// without; the all-in-one connects its services itself.
func PeerAddr(l *config.Loader, peer string) string {
	return serviceAddr(l, "LATCHKEY_"+strings.ToUpper(peer)+"_INTERNAL_ADDR", peer, DefaultInternalAddrs[peer],
		"internal gRPC address of the "+peer+" service, required by the services that call it")
}

// BackendAddr reads the address of the public API of the service backend
// (LATCHKEY_<BACKEND>_ADDR), which gatewayd cannot work without.
func BackendAddr(l *config.Loader, backend string) string {
	return serviceAddr(l, "LATCHKEY_"+strings.ToUpper(backend)+"_ADDR", backend, DefaultGRPCAddrs[backend],
		"gatewayd: public gRPC address of the "+backend+" service")
}

// serviceAddr reads the required address of service's replicas, in a
// form grpcx.Dial accepts; listen is where one replica listens by default.
func serviceAddr(l *config.Loader, name, service, listen, what string) string {
	_, port, _ := net.SplitHostPort(listen)
	v := l.Required(name, what+": host:port (e.g. "+listen+"), a comma-separated list of replicas ("+
		service+"-1:"+port+","+service+"-2:"+port+"), or dns:///"+service+":"+port+
		" for every address of the name, looked up again every "+grpcx.DNSRefresh.String()+"; calls are balanced round robin")
	if v != "" {
		l.Invalid(name, grpcx.CheckTarget(v))
	}
	return v
}

// Dial returns a connection to the internal API of the service peer at
// addr, presenting s's certificate and checking that it reached peer.
func (s Settings) Dial(peer, addr string) (*grpc.ClientConn, error) {
	opts := grpcx.DialOptions{Registerer: s.Registerer}
	if s.Identity != nil {
		opts.TLS = s.Identity.ClientTLS(peer)
	}
	return grpcx.Dial(addr, opts)
}

// Observe sets where the service logs and registers its metrics: a
// binary's daemon gives its own (daemon.Service).
func (s *Settings) Observe(log *slog.Logger, reg prometheus.Registerer) {
	s.Logger, s.Registerer = log, reg
}

// Manage sets the management listener's mux, where Serve adds /readyz
// (daemon.Service).
func (s *Settings) Manage(mux *http.ServeMux) { s.Management = mux }
