// Package grpcapi is the credential service's gRPC surface: thin handlers
// that turn requests into use-case calls and answers back. It knows the use
// cases only, never the store.
package grpcapi

import (
	"context"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	credentialv1 "github.com/latchkey/latchkey/proto/gen/latchkey/credential/v1"
	credentialinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/credential/v1"
	"github.com/latchkey/latchkey/services/credential/internal/app"
	"github.com/latchkey/latchkey/services/credential/internal/token"
)

// Register adds every credential service to s.
func Register(s grpc.ServiceRegistrar, a *app.App, issuer *token.Issuer) {
	credentialv1.RegisterAuthServiceServer(s, &auth{app: a, issuer: issuer})
	credentialv1.RegisterCredentialServiceServer(s, &self{app: a})
	credentialv1.RegisterCredentialAdminServiceServer(s, &admin{app: a})
	credentialinternalv1.RegisterCredentialInternalServiceServer(s, &internal{app: a})
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
	if len(c.UserAgent) > 400 {
		c.UserAgent = c.UserAgent[:400]
	}
	return c
}

func seconds(d time.Duration) int32 { return int32(d.Round(time.Second) / time.Second) }
