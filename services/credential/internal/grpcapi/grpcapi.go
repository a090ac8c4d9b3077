// Package grpcapi is the credential service's gRPC surface: thin handlers
// that turn requests into use-case calls and answers back. It knows the use
// cases only, never the store.
package grpcapi

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	credentialv1 "github.com/latchkey/latchkey/proto/gen/latchkey/credential/v1"
	credentialinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/credential/v1"
	"github.com/latchkey/latchkey/services/credential/internal/app"
	"github.com/latchkey/latchkey/services/credential/internal/token"
)

// RegisterPublic adds the public services, the gateway's backends.
func RegisterPublic(s grpc.ServiceRegistrar, a *app.App, issuer *token.Issuer) {
	credentialv1.RegisterAuthServiceServer(s, &auth{app: a, issuer: issuer})
	credentialv1.RegisterCredentialServiceServer(s, &self{app: a})
	credentialv1.RegisterCredentialAdminServiceServer(s, &admin{app: a})
}

// RegisterInternal adds the internal service, and AuthService for the
// published keys that every service verifies tokens with (Callers admits
// only GetJwks of it).
func RegisterInternal(s grpc.ServiceRegistrar, a *app.App, issuer *token.Issuer) {
	credentialinternalv1.RegisterCredentialInternalServiceServer(s, &internal{app: a})
	credentialv1.RegisterAuthServiceServer(s, &auth{app: a, issuer: issuer})
}

// client tells the use cases where a call comes from: the address the edge
// saw (x-forwarded-for, set by the gateway from the peer or a trusted
// proxy) or the direct peer, and the user agent.
func client(ctx context.Context) app.Client {
	var c app.Client
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get("x-forwarded-for"); len(v) > 0 {
		c.IP = strings.TrimSpace(strings.Split(v[0], ",")[0])
	} else if p, ok := peer.FromContext(ctx); ok {
		c.IP, _, _ = strings.Cut(p.Addr.String(), ":")
	}
	for _, key := range []string{"grpcgateway-user-agent", "user-agent"} {
		if v := md.Get(key); len(v) > 0 {
			c.UserAgent = v[0]
			break
		}
	}
	c.UserAgent = cutUTF8(c.UserAgent, maxUserAgent)
	return c
}

// maxUserAgent is the most of a user agent that sessions and events keep,
// in bytes.
const maxUserAgent = 400

// cutUTF8 shortens s to at most n bytes without splitting a character,
// which PostgreSQL would refuse to store.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func seconds(d time.Duration) int32 { return int32(d.Round(time.Second) / time.Second) }
