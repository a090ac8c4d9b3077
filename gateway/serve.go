package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"google.golang.org/grpc"
)

// Timeouts bound the phases of one HTTP request, so that a client cannot
// hold a connection (and its goroutine and buffers) by sending or reading
// slowly.
type Timeouts struct {
	// ReadHeader bounds the arrival of the request line and headers: a
	// client trickling them is cut.
	ReadHeader time.Duration
	// Read bounds the arrival of the whole request, body included.
	Read time.Duration
	// Write bounds the answer, from the end of the headers' arrival.
	Write time.Duration
	// Idle bounds the wait for the next request on a kept-alive
	// connection.
	Idle time.Duration
}

// DefaultTimeouts suit people on slow mobile links: a 4 MiB body (the
// limit) arrives in 30s at about 1 Mbit/s, and an answer waits at most a
// minute for the services (a log-in queued behind the password hasher
// gets its 503 long before).
var DefaultTimeouts = Timeouts{ReadHeader: 5 * time.Second, Read: 30 * time.Second, Write: time.Minute, Idle: 2 * time.Minute}

// withDefaults fills the zero fields of t from DefaultTimeouts.
func (t Timeouts) withDefaults() Timeouts {
	orDefault := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	orDefault(&t.ReadHeader, DefaultTimeouts.ReadHeader)
	orDefault(&t.Read, DefaultTimeouts.Read)
	orDefault(&t.Write, DefaultTimeouts.Write)
	orDefault(&t.Idle, DefaultTimeouts.Idle)
	return t
}

// shutdownTimeout bounds the graceful part of Serve's stop; Kubernetes sends
// SIGKILL 30s after SIGTERM by default.
const shutdownTimeout = 10 * time.Second

// maxHeaderBytes bounds a request's headers (net/http allows 1 MiB): a
// bearer token and cookies fit many times over.
const maxHeaderBytes = 64 << 10

// Serve serves HTTP on httpLis and the public gRPC endpoint on grpcLis until
// ctx is done, then stops gracefully: /readyz and gRPC health turn
// unavailable, in-flight calls get up to 10s to finish, and Serve returns
// nil. If grpcLis is nil, gRPC is served on httpLis too, over cleartext
// HTTP/2 (h2c): a request with content type application/grpc goes to the
// gRPC server, any other to the REST handler. Serve returns early with an
// error if either server fails. A Gateway serves once.
func (g *Gateway) Serve(ctx context.Context, httpLis, grpcLis net.Listener) error {
	handler := g.http
	if grpcLis == nil {
		handler = g.grpcOrHTTP(g.http)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: g.timeouts.ReadHeader,
		ReadTimeout:       g.timeouts.Read,
		WriteTimeout:      g.timeouts.Write,
		IdleTimeout:       g.timeouts.Idle,
		MaxHeaderBytes:    maxHeaderBytes,
		Protocols:         new(http.Protocols),
	}
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetUnencryptedHTTP2(true) // h2c with prior knowledge, as gRPC clients speak it

	followCtx, stopFollowing := context.WithCancel(ctx)
	defer stopFollowing()
	go g.ready.follow(followCtx, g.health)

	failed := make(chan error, 2)
	go func() {
		if err := srv.Serve(httpLis); !errors.Is(err, http.ErrServerClosed) {
			failed <- fmt.Errorf("gateway: http serve: %w", err)
		}
	}()
	if grpcLis != nil {
		go func() {
			if err := g.grpc.Serve(grpcLis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
				failed <- fmt.Errorf("gateway: grpc serve: %w", err)
			}
		}()
	}

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-failed:
	}
	g.stop(srv, grpcLis == nil)
	return serveErr
}

// stop drains both servers, then cuts off what is still running.
func (g *Gateway) stop(srv *http.Server, sharedPort bool) {
	g.draining.Store(true)
	g.health.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()

	if sharedPort {
		// gRPC calls are HTTP handlers here, so the HTTP shutdown drains
		// them; grpc's GracefulStop would instead close them at once
		// (ServeHTTP transports cannot drain).
		g.shutdownHTTP(ctx, srv)
		g.grpc.Stop()
		return
	}
	grpcStopped := make(chan struct{})
	go func() {
		g.grpc.GracefulStop()
		close(grpcStopped)
	}()
	g.shutdownHTTP(ctx, srv)
	select {
	case <-grpcStopped:
	case <-ctx.Done():
		g.log.Warn("gateway: grpc graceful stop timed out; closing remaining calls", "timeout", shutdownTimeout)
		g.grpc.Stop()
		<-grpcStopped
	}
}

func (g *Gateway) shutdownHTTP(ctx context.Context, srv *http.Server) {
	if err := srv.Shutdown(ctx); err != nil {
		g.log.Warn("gateway: http graceful stop timed out; closing remaining requests", "timeout", shutdownTimeout)
		_ = srv.Close()
	}
}

// grpcOrHTTP sends gRPC requests (HTTP/2 with an application/grpc content
// type) to the gRPC server and everything else to next.
func (g *Gateway) grpcOrHTTP(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
			g.grpc.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
