package grpcx

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	"github.com/latchkey/latchkey/libs/logx"
)

// BenchmarkCallLogging is the cost the logging and sanitizing interceptors
// add to one OK call: with its line written (the level at DEBUG — what every
// hop paid at INFO before issue 14) and with its line dropped (the default
// INFO, where a hop's OK call is a DEBUG line).
func BenchmarkCallLogging(b *testing.B) {
	for _, bc := range []struct {
		name  string
		level slog.Level
	}{
		{"line_written", slog.LevelDebug},
		{"line_dropped", slog.LevelInfo},
	} {
		b.Run(bc.name, func(b *testing.B) {
			log := slog.New(logx.RequestIDs(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: bc.level})))
			logging, sanitizer := unaryLogging(log), unarySanitizer(log)
			info := &grpc.UnaryServerInfo{FullMethod: "/latchkey.account.v1.AccountService/GetMe"}
			handler := func(ctx context.Context, req any) (any, error) { return req, nil }
			inner := func(ctx context.Context, req any) (any, error) { return sanitizer(ctx, req, info, handler) }
			ctx := peer.NewContext(context.Background(), &peer.Peer{Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 50000}})
			ctx = metadata.NewIncomingContext(ctx, metadata.Pairs("x-request-id", "01jd7q6m2v9x8k3t5r4w0yzabc"))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := logging(ctx, info, info, inner); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
