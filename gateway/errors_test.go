package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/latchkey/latchkey/libs/errs"
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

// A service whose database is out of reach answers Unavailable (libs/dbx);
// the client gets 503 with the API's error body, reason UNAVAILABLE, and
// a Retry-After, never a 500.
func TestRESTError_DatabaseOutageIs503WithRetryAfter(t *testing.T) {
	outage := errs.Unavailable("UNAVAILABLE", "temporarily unavailable, try again shortly", errors.New("dial tcp 10.0.0.7:5432: connection refused"))
	handle := restErrorHandler(slog.New(slog.NewTextHandler(io.Discard, nil)))
	w := httptest.NewRecorder()
	handle(context.Background(), runtime.NewServeMux(), &runtime.JSONPb{}, w, httptest.NewRequest(http.MethodPost, "/v1/auth/login", nil), outage.GRPCStatus().Err())
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "1" {
		t.Fatalf("status %d, Retry-After %q; want 503 and 1", w.Code, w.Header().Get("Retry-After"))
	}
	var body struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Details []struct {
			Reason string `json:"reason"`
		} `json:"details"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %s: %v", w.Body, err)
	}
	if body.Code != int(codes.Unavailable) || len(body.Details) == 0 || body.Details[0].Reason != "UNAVAILABLE" {
		t.Errorf("body = %s, want code 14 with reason UNAVAILABLE", w.Body)
	}
	if strings.Contains(w.Body.String(), "10.0.0.7") {
		t.Errorf("body leaks the cause: %s", w.Body)
	}
}
