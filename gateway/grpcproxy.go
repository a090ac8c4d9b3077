package gateway

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/latchkey/latchkey/libs/grpcx"
	"github.com/latchkey/latchkey/libs/logx"
	"github.com/latchkey/latchkey/libs/requestid"
)

// grpcProxy forwards public gRPC calls to the backend that owns the service.
type grpcProxy struct {
	routes  map[string]*grpc.ClientConn // full service name → backend connection
	proxies trustedProxies
	codec   passThroughCodec
	log     *slog.Logger
	// sampler bounds the access lines (logx.Sampler).
	sampler *logx.Sampler
}

// bidiDesc lets one forwarding loop serve unary and streaming methods alike:
// a unary call is a stream with one message each way.
var bidiDesc = &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}

// route finds the backend of a full method name ("/pkg.Service/Method").
func (p *grpcProxy) route(fullMethod string) (*grpc.ClientConn, error) {
	service, _, ok := strings.Cut(strings.TrimPrefix(fullMethod, "/"), "/")
	if !ok {
		return nil, status.Errorf(codes.Unimplemented, "malformed method name %q", fullMethod)
	}
	if conn, ok := p.routes[service]; ok {
		return conn, nil
	}
	// The same answer grpc-go gives for a service it does not have, so an
	// internal service looks exactly like one that does not exist.
	return nil, status.Errorf(codes.Unimplemented, "unknown service %s", service)
}

// handle is the server's UnknownServiceHandler: every call that is not
// health or reflection comes here. It writes the call's access line, the
// gRPC twin of the REST one (observe).
func (p *grpcProxy) handle(_ any, in grpc.ServerStream) error {
	start := time.Now()
	method, ok := grpc.MethodFromServerStream(in)
	if !ok {
		return status.Error(codes.Internal, "no method in stream")
	}
	// The request id goes back in the answer's headers whatever happens
	// next (SetHeader: sent with the first message or the status).
	id := grpcRequestID(in.Context())
	_ = in.SetHeader(metadata.Pairs(mdRequestID, id))
	ctx := requestid.With(in.Context(), id)
	err, hidden := p.forward(ctx, in, method, id)
	p.logAccess(ctx, method, id, start, err, hidden)
	return err
}

// forward relays the call to its backend and returns the status for the
// client, and the error it hides from the client (nil when none).
func (p *grpcProxy) forward(ctx context.Context, in grpc.ServerStream, method, id string) (err, hidden error) {
	conn, err := p.route(method)
	if err != nil {
		return err, nil
	}
	// Cancelling on return ends the backend call if the client goes away
	// or either direction fails.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ctx = metadata.NewOutgoingContext(ctx, p.proxies.outgoingMetadata(in.Context(), id))
	out, err := conn.NewStream(ctx, bidiDesc, method, grpc.ForceCodecV2(p.codec))
	if err != nil {
		return hide(err)
	}

	// Not waited for: on a bidi call the backend may finish while the
	// client is still sending, and the client's RecvMsg only returns once
	// this handler has.
	go func() {
		if err := forwardRequests(in, out); err != nil {
			cancel()
		}
	}()

	replyErr := forwardReplies(out, in)
	if replyErr == nil {
		// The backend finished; its status is final whatever the client
		// still tries to send.
		return nil, nil
	}
	if _, ok := status.FromError(replyErr); !ok {
		replyErr = status.Error(codes.Unavailable, replyErr.Error())
	}
	return hide(replyErr)
}

// hide is publicStatus, keeping the replaced error for the log.
func hide(err error) (public, hidden error) {
	pub, replaced := publicStatus(err)
	if replaced {
		return pub, err
	}
	return pub, nil
}

// logAccess writes the call's one access line: method, code, duration,
// request id, and the error the client was not shown. The level and the
// sampling are checked before any attribute is built.
func (p *grpcProxy) logAccess(ctx context.Context, method, id string, start time.Time, err, hidden error) {
	code := status.Code(err)
	level := grpcx.AccessLevel(code)
	if code == codes.DeadlineExceeded && ctx.Err() != nil {
		// The client's own deadline passed: its doing, like a cancel.
		level = slog.LevelInfo
	}
	if !p.log.Enabled(ctx, level) || !p.sampler.Allow("grpc", level) {
		return
	}
	attrs := grpcx.CallAttrs(make([]slog.Attr, 0, 5), method, code, start)
	attrs = append(attrs, slog.String(requestid.LogKey, id))
	if hidden != nil {
		attrs = append(attrs, slog.String("error", hidden.Error()))
	}
	p.log.LogAttrs(ctx, level, "grpc call", attrs...)
}

// forwardRequests copies the client's messages to the backend, then half-
// closes so a client-streaming backend knows the input has ended.
func forwardRequests(in grpc.ServerStream, out grpc.ClientStream) error {
	for {
		f := &frame{}
		if err := in.RecvMsg(f); err != nil {
			if errors.Is(err, io.EOF) {
				return out.CloseSend()
			}
			return err
		}
		if err := out.SendMsg(f); err != nil {
			// The backend ended the call; its status comes out of RecvMsg.
			return err
		}
	}
}

// forwardReplies copies the backend's headers, messages and trailers to the
// client and returns the backend's final status (nil for OK).
func forwardReplies(out grpc.ClientStream, in grpc.ServerStream) error {
	headerSent := false
	sendHeader := func() error {
		if headerSent {
			return nil
		}
		headerSent = true
		md, err := out.Header()
		if err != nil {
			return nil // no headers: the status below tells what happened
		}
		return in.SendHeader(md)
	}
	for {
		f := &frame{}
		err := out.RecvMsg(f)
		if err != nil {
			if !headerSent {
				if md, herr := out.Header(); herr == nil {
					_ = in.SetHeader(md)
				}
			}
			in.SetTrailer(out.Trailer())
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if err := sendHeader(); err != nil {
			return err
		}
		if err := in.SendMsg(f); err != nil {
			return err
		}
	}
}
