package grpcx

import (
	"context"
	"crypto/tls"
	"fmt"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/latchkey/latchkey/libs/requestid"
	"github.com/latchkey/latchkey/libs/tracing"
)

// DefaultServiceConfig balances over every address the resolver returns
// (use a "dns:///host:port" target for a headless Kubernetes service) and
// retries UNAVAILABLE up to 4 attempts in all, backing off 50ms, 100ms,
// 200ms... up to 1s with jitter.
//
// What is retried: grpc-go retries a call that ended with UNAVAILABLE
// before the server sent response headers. That covers connection
// failures, where the server never saw the call, but also a handler that
// returned Unavailable itself, after doing whatever it did. So a handler
// must return Unavailable (errs.Unavailable) only when the call had no
// effect: a non-idempotent write followed by Unavailable would be repeated.
// Other codes, and calls whose server already started responding, are
// never retried. retryThrottling (gRFC A6 token bucket: each failed
// attempt costs 1 of 10 tokens, each success earns 0.1, no retries at 5 or
// below) stops retrying during an outage, so a struggling service does not
// get four times its load.
const DefaultServiceConfig = `{
  "loadBalancingConfig": [{"round_robin": {}}],
  "methodConfig": [{
    "name": [{}],
    "retryPolicy": {
      "maxAttempts": 4,
      "initialBackoff": "0.05s",
      "maxBackoff": "1s",
      "backoffMultiplier": 2,
      "retryableStatusCodes": ["UNAVAILABLE"]
    }
  }],
  "retryThrottling": {"maxTokens": 10, "tokenRatio": 0.1}
}`

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

// Dial returns a client connection to target (any grpc.NewClient target,
// e.g. "dns:///account:9090"). As with grpc.NewClient it does not connect
// yet: the first call does, so services may start in any order.
func Dial(target string, opts DialOptions) (*grpc.ClientConn, error) {
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
		grpc.WithChainUnaryInterceptor(unaryRequestID),
		grpc.WithChainStreamInterceptor(streamRequestID),
		// A client span per call; its traceparent goes out in the
		// metadata (no-op while tracing is off).
		grpc.WithStatsHandler(tracing.ClientHandler()),
	}
	if opts.Registerer != nil {
		m, err := register(opts.Registerer, grpcprom.NewClientMetrics(grpcprom.WithClientHandlingTimeHistogram()))
		if err != nil {
			return nil, fmt.Errorf("grpcx: registering client metrics: %w", err)
		}
		dialOpts = append(dialOpts,
			grpc.WithChainUnaryInterceptor(m.UnaryClientInterceptor()),
			grpc.WithChainStreamInterceptor(m.StreamClientInterceptor()))
	}
	conn, err := grpc.NewClient(target, append(dialOpts, opts.Extra...)...)
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
