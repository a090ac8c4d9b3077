package grpcapi

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"google.golang.org/grpc/metadata"
)

// A long user agent is cut to maxUserAgent bytes at a character boundary:
// cut inside one, it is not UTF-8, which PostgreSQL refuses to store.
func TestClient_CutsALongUserAgentBetweenCharacters(t *testing.T) {
	for _, ua := range []string{
		strings.Repeat("a", maxUserAgent-1) + "é tail",
		strings.Repeat("a", maxUserAgent-2) + "😀 tail",
		strings.Repeat("ü", maxUserAgent),
		"Mozilla/5.0 short",
	} {
		ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("user-agent", ua))
		got := client(ctx).UserAgent
		if len(got) > maxUserAgent || !utf8.ValidString(got) || !strings.HasPrefix(ua, got) || len(got) < maxUserAgent-3 && len(ua) > maxUserAgent {
			t.Errorf("user agent %q… (%d bytes) kept as %q… (%d bytes): want a valid prefix of at most %d bytes",
				ua[:10], len(ua), got[:min(10, len(got))], len(got), maxUserAgent)
		}
	}
}
