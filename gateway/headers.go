package gateway

import (
	"context"
	"net/http"
	"net/textproto"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
)

// Metadata keys the backends receive from the edge. Everything else a client
// sends is dropped, so that no client can set metadata a backend might trust
// (a Grpc-Metadata-* header over REST, any key over gRPC).
const (
	mdAuthorization = "authorization"
	mdTenant        = "latchkey-tenant"
	mdRequestID     = "x-request-id"
	// mdUserAgent carries the end user's agent. It is grpc-gateway's key
	// for the User-Agent header; the gRPC proxy uses it too because grpc-go
	// replaces "user-agent" with its own on every outgoing call.
	mdUserAgent    = "grpcgateway-user-agent"
	mdForwardedFor = "x-forwarded-for"
	// mdIdempotencyKey lets a client retry a create safely
	// (libs/idempotency.MetadataKey).
	mdIdempotencyKey = "idempotency-key"
)

// restHeaders maps the HTTP headers the REST edge forwards to their metadata
// keys. Authorization is not here: grpc-gateway always forwards it itself.
var restHeaders = map[string]string{
	"Latchkey-Tenant": mdTenant,
	"X-Request-Id":    mdRequestID,
	"User-Agent":      mdUserAgent,
	"Idempotency-Key": mdIdempotencyKey,
}

// incomingHeaderMatcher replaces grpc-gateway's default, which would forward
// any Grpc-Metadata-* header a client chose to send.
func incomingHeaderMatcher(key string) (string, bool) {
	md, ok := restHeaders[textproto.CanonicalMIMEHeaderKey(key)]
	return md, ok
}

// clientAddressMetadata gives the backends the client address decided by
// forwardedPolicy. grpc-gateway lets annotator values replace its own, which
// would otherwise append to whatever X-Forwarded-For a trusted proxy passed.
func clientAddressMetadata(ctx context.Context, r *http.Request) metadata.MD {
	if ip, ok := clientIPFrom(r.Context()); ok {
		return metadata.Pairs(mdForwardedFor, ip)
	}
	return nil
}

// grpcForwardedKeys are the incoming gRPC metadata keys passed on unchanged.
var grpcForwardedKeys = []string{mdAuthorization, mdTenant, mdIdempotencyKey}

// outgoingMetadata is what a proxied gRPC call carries to its backend: the
// allowed keys of the caller's metadata, the request id, the caller's user
// agent and the client address (from a trusted proxy's x-forwarded-for,
// else the peer).
func (t trustedProxies) outgoingMetadata(ctx context.Context, requestID string) metadata.MD {
	in, _ := metadata.FromIncomingContext(ctx)
	out := metadata.Pairs(mdRequestID, requestID)
	for _, k := range grpcForwardedKeys {
		if v := in.Get(k); len(v) > 0 {
			out.Set(k, v...)
		}
	}
	if ua := in.Get("user-agent"); len(ua) > 0 {
		out.Set(mdUserAgent, ua...)
	}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		var realIP string
		if v := in.Get("x-real-ip"); len(v) > 0 {
			realIP = v[0]
		}
		if ip := t.clientIP(p.Addr.String(), in.Get(mdForwardedFor), realIP); ip != "" {
			out.Set(mdForwardedFor, ip)
		}
	}
	return out
}

// muxHeaderOptions are the grpc-gateway options that enforce the header policy.
func muxHeaderOptions() []runtime.ServeMuxOption {
	return []runtime.ServeMuxOption{
		runtime.WithIncomingHeaderMatcher(incomingHeaderMatcher),
		runtime.WithMetadata(clientAddressMetadata),
		runtime.WithMetadata(userAgentMetadata),
	}
}

// userAgentMetadata gives the backends a User-Agent that gRPC metadata
// cannot carry as it came, with each character outside printable ASCII
// as '?', and an empty one when the request has none. grpc-gateway drops
// such a value, and the backend would then take the gateway's own
// grpc-go agent for the client's: every such client's sessions "from
// grpc-go/1.x", one device to the new-device notices.
func userAgentMetadata(_ context.Context, r *http.Request) metadata.MD {
	uas, sent := r.Header["User-Agent"]
	if !sent || len(uas) == 0 {
		return metadata.Pairs(mdUserAgent, "")
	}
	if strings.IndexFunc(uas[0], notInMetadata) < 0 {
		return nil // grpc-gateway passes it on
	}
	return metadata.Pairs(mdUserAgent, strings.Map(func(r rune) rune {
		if notInMetadata(r) {
			return '?'
		}
		return r
	}, uas[0]))
}

// notInMetadata tells a character a gRPC metadata text value cannot hold
// (outside printable ASCII; a byte of invalid UTF-8 reads as U+FFFD).
func notInMetadata(r rune) bool { return r < ' ' || r > '~' }
