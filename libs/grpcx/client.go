package grpcx

import (
	"context"
	"crypto/tls"
	"fmt"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/latchkey/latchkey/libs/requestid"
	"github.com/latchkey/latchkey/libs/tracing"
)

// DefaultServiceConfig balances calls round robin over every address of
// the target (see CheckTarget) and retries nothing itself.
//
// Why no retry policy, neither at the gateway (the edge) nor between the
// services: a retry policy repeats a call that ended UNAVAILABLE, and that
// is either a handler's own answer (its database is down: every replica
// shares that database, so a second attempt fails the same way and only
// adds load when the service can least take it, while the client waits
// for the 503) or a connection that broke after the call was sent (the
// server may have done the work: repeating a write is for the client to
// decide, with its idempotency key, after the 503). What is worth
// retrying grpc does without a policy: round robin only picks replicas
// whose connection is up, so a replica refusing connections gets no
// calls; and a call that never reached a server (its connection closed
// under it, or the server was going away and refused the stream) is
// retried transparently on another replica. Nested calls would multiply
// a policy besides: the gateway's attempts times each service's.
const DefaultServiceConfig = `{
  "loadBalancingConfig": [{"round_robin": {}}]
}`

// connectParams are how a connection to a replica is attempted again
// after it failed: soon, and at least every second (plus jitter), so
// that when the replicas come back after an outage calls succeed again
// within two seconds. grpc's defaults back off up to 2 minutes, which
// left calls failing for 19 s after every replica was back. An attempt
// that reaches nothing (a replica gone without a word) is given up after
// MinConnectTimeout; the other replicas serve meanwhile.
var connectParams = grpc.ConnectParams{
	Backoff: backoff.Config{
		BaseDelay:  100 * time.Millisecond,
		Multiplier: 1.6,
		Jitter:     0.2,
		MaxDelay:   time.Second,
	},
	MinConnectTimeout: 5 * time.Second,
}

// DialOptions configures Dial. The zero value dials without TLS, for the
// cluster-internal network and the all-in-one binary.
type DialOptions struct {
	// TLS, when set, secures the connection with this configuration.
	TLS *tls.Config
	// Registerer receives grpc_client_* metrics; nil means no metrics.
	// Several connections may share one Registerer.
	Registerer prometheus.Registerer
	// ServiceConfig replaces DefaultServiceConfig when not empty.
	ServiceConfig string
	// Extra options are applied after the ones Dial sets.
	Extra []grpc.DialOption
}

// Dial returns a client connection to target, in one of the forms
// CheckTarget accepts: "account:7101", "10.0.0.5:7101,10.0.0.6:7101" or
// "dns:///account:7101". As with grpc.NewClient it does not connect yet:
// the first call does, so services may start in any order.
func Dial(target string, opts DialOptions) (*grpc.ClientConn, error) {
	grpcTarget, replicas, err := parseTarget(target)
	if err != nil {
		return nil, fmt.Errorf("grpcx: dial: %w", err)
	}
	creds := insecure.NewCredentials()
	if opts.TLS != nil {
		creds = credentials.NewTLS(opts.TLS)
	}
	sc := opts.ServiceConfig
	if sc == "" {
		sc = DefaultServiceConfig
	}
	dialOpts := []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultServiceConfig(sc),
		// A service config published in DNS (TXT records) would
		// override the one above: the code, not DNS, decides.
		grpc.WithDisableServiceConfig(),
		grpc.WithConnectParams(connectParams),
		grpc.WithResolvers(refreshingDNS{}),
		grpc.WithChainUnaryInterceptor(unaryRequestID),
		grpc.WithChainStreamInterceptor(streamRequestID),
		grpc.WithStaticStreamWindowSize(StreamWindowBytes),
		grpc.WithStaticConnWindowSize(ConnWindowBytes),
	}
	// A client span per call; its traceparent goes out in the metadata
	// (nothing while tracing is off).
	dialOpts = append(dialOpts, tracing.DialOptions()...)
	if opts.Registerer != nil {
		m, err := register(opts.Registerer, grpcprom.NewClientMetrics(grpcprom.WithClientHandlingTimeHistogram()))
		if err != nil {
			return nil, fmt.Errorf("grpcx: registering client metrics: %w", err)
		}
		dialOpts = append(dialOpts,
			grpc.WithChainUnaryInterceptor(m.UnaryClientInterceptor()),
			grpc.WithChainStreamInterceptor(m.StreamClientInterceptor()))
	}
	if replicas != nil {
		dialOpts = append(dialOpts, grpc.WithResolvers(replicas))
	}
	conn, err := grpc.NewClient(grpcTarget, append(dialOpts, opts.Extra...)...)
	if err != nil {
		return nil, fmt.Errorf("grpcx: dial %s: %w", target, err)
	}
	return conn, nil
}

// passRequestID adds the request id of ctx (the call being served, see
// withRequestID) to an outgoing call, so that a request keeps its id in
// every service it crosses. An id already in the outgoing metadata (the
// gateway sets its own) is left alone.
func passRequestID(ctx context.Context) context.Context {
	id, ok := requestid.From(ctx)
	if !ok {
		return ctx
	}
	if md, _ := metadata.FromOutgoingContext(ctx); len(md.Get(requestid.MetadataKey)) > 0 {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, requestid.MetadataKey, id)
}

func unaryRequestID(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	return invoker(passRequestID(ctx), method, req, reply, cc, opts...)
}

func streamRequestID(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return streamer(passRequestID(ctx), desc, cc, method, opts...)
}
