package infra

import (
	"log/slog"
	"net"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/config"
)

// Settings are what every service's server.Config starts with: where its
// infrastructure is and what it reports to. A service binary reads them
// with SettingsFromEnv; the all-in-one binary fills them itself (its own
// listeners, a shared NATS connection, SQLite in its data directory).
type Settings struct {
	// GRPCAddr is where the service listens, unless Listener is set.
	GRPCAddr string
	Listener net.Listener
	// PostgresURL selects PostgreSQL (a schema named after the service);
	// empty selects SQLite in DataDir.
	PostgresURL string
	// DataDir holds SQLite files and what a service keeps on disk.
	DataDir string
	// NATS is a connection to share; when nil one is made to NATSURL.
	NATS    *nats.Conn
	NATSURL string
	// Clock is the time (default: the system clock).
	Clock clock.Clock
	// Logger receives the service's logs (default: slog.Default()).
	Logger *slog.Logger
	// Registerer receives the service's metrics (nil: none).
	Registerer prometheus.Registerer
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
	EnvPostgresURL = "LATCHKEY_POSTGRES_URL"
	EnvNATSURL     = "LATCHKEY_NATS_URL"
	EnvDataDir     = "LATCHKEY_DATA_DIR"
)

const (
	descPostgresURL = "PostgreSQL URL, one schema per service; required by the service binaries; empty in the all-in-one: SQLite files in the data directory"
	descNATSURL     = "NATS server with JetStream; required by the service binaries; empty in the all-in-one: the embedded NATS (gatewayd: checked by /readyz when set)"
	descDataDir     = "data directory: SQLite files and embedded NATS storage (all-in-one), the generated operator token and first operator's password (account), the built-in mailbox (notification)"
	defaultDataDir  = "./.latchkey"
)

// PostgresURL reads LATCHKEY_POSTGRES_URL where it may be empty.
func PostgresURL(l *config.Loader) string { return l.Secret(EnvPostgresURL, descPostgresURL) }

// NATSURL reads LATCHKEY_NATS_URL where it may be empty.
func NATSURL(l *config.Loader) string { return l.String(EnvNATSURL, "", descNATSURL) }

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

// SettingsFromEnv reads the settings of the service binary of service
// (e.g. "account"): its listen address LATCHKEY_<SERVICE>_GRPC_ADDR,
// PostgreSQL and NATS. Both are required: the embedded NATS and the SQLite
// files are the all-in-one's, not a production service's.
func SettingsFromEnv(l *config.Loader, service string) Settings {
	return Settings{
		GRPCAddr:    l.String("LATCHKEY_"+strings.ToUpper(service)+"_GRPC_ADDR", DefaultGRPCAddrs[service], service+" service binary: gRPC listen address"),
		PostgresURL: l.RequiredSecret(EnvPostgresURL, descPostgresURL),
		NATSURL:     l.Required(EnvNATSURL, descNATSURL),
		DataDir:     DataDir(l),
	}
}

// PeerAddr reads the gRPC address of the service peer
// (LATCHKEY_<PEER>_ADDR), which a service binary or gatewayd cannot work
// without; the all-in-one connects its services itself.
func PeerAddr(l *config.Loader, peer string) string {
	_, port, _ := net.SplitHostPort(DefaultGRPCAddrs[peer])
	return l.Required("LATCHKEY_"+strings.ToUpper(peer)+"_ADDR",
		"gRPC address of the "+peer+" service, required by the binaries that call it (e.g. "+DefaultGRPCAddrs[peer]+", or dns:///"+peer+":"+port+" for every replica)")
}
