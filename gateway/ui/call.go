package ui

import (
	"context"

	"google.golang.org/grpc/metadata"

	"github.com/latchkey/latchkey/libs/requestid"
)

// Metadata keys the backends receive, as the REST edge sends them
// (gateway/headers.go): the request id, the end user's agent, the client
// address the edge decided and, signed in, the bearer token. The
// gateway's rate limit reads the client address from here too, so the
// pages' sign-in is limited like the REST one.
const (
	mdAuthorization = "authorization"
	mdRequestID     = "x-request-id"
	mdUserAgent     = "grpcgateway-user-agent"
	mdForwardedFor  = "x-forwarded-for"
)

// Ctx is the context for a backend call made on behalf of this request,
// without a token.
func (rq *Request) Ctx() context.Context {
	return rq.outgoing("")
}

// outgoing builds the call's metadata, with bearer when given.
func (rq *Request) outgoing(bearer string) context.Context {
	ctx := rq.R.Context()
	md := metadata.MD{}
	if id, ok := requestid.From(ctx); ok {
		md.Set(mdRequestID, id)
	} else if id := rq.R.Header.Get(requestid.Header); id != "" {
		md.Set(mdRequestID, requestid.OrNew(id))
	}
	if ua := rq.R.UserAgent(); ua != "" {
		md.Set(mdUserAgent, ua)
	}
	if ip := rq.s.clientIP(rq.R); ip != "" {
		md.Set(mdForwardedFor, ip)
	}
	if bearer != "" {
		md.Set(mdAuthorization, "Bearer "+bearer)
	}
	return metadata.NewOutgoingContext(ctx, md)
}
