package gateway

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"
)

// API.md: 429 and 503 carry Retry-After, from the service's hint when it
// gave one; other errors carry none.
func TestRESTError_RetryAfterOn429And503(t *testing.T) {
	withDetails := func(c codes.Code, details ...protoadapt.MessageV1) error {
		st, err := status.New(c, "x").WithDetails(details...)
		if err != nil {
			t.Fatal(err)
		}
		return st.Err()
	}
	info := func(meta map[string]string) *errdetails.ErrorInfo {
		return &errdetails.ErrorInfo{Reason: "PASSWORD_HASHER_BUSY", Domain: "latchkey.dev", Metadata: meta}
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"busy hasher's hint", withDetails(codes.Unavailable, info(map[string]string{"retryAfterSeconds": "7"})), "7"},
		{"RetryInfo first, rounded up", withDetails(codes.ResourceExhausted, info(map[string]string{"retryAfterSeconds": "9"}),
			&errdetails.RetryInfo{RetryDelay: durationpb.New(2500 * time.Millisecond)}), "3"},
		{"no hint", withDetails(codes.ResourceExhausted, info(nil)), "1"},
		{"a huge hint is capped", withDetails(codes.Unavailable, info(map[string]string{"retryAfterSeconds": "99999999"})), "3600"},
		{"backend unreachable", status.Error(codes.Unavailable, "connection refused"), "1"},
		{"not a 429 or 503", withDetails(codes.Unauthenticated, info(map[string]string{"retryAfterSeconds": "7"})), ""},
	}
	handle := restErrorHandler(slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			handle(context.Background(), runtime.NewServeMux(), &runtime.JSONPb{}, w, httptest.NewRequest(http.MethodPost, "/v1/auth/login", nil), tt.err)
			if got := w.Header().Get("Retry-After"); got != tt.want {
				t.Fatalf("Retry-After = %q (status %d), want %q", got, w.Code, tt.want)
			}
		})
	}
}
