package gateway_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/latchkey/latchkey/gateway"
	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/requestid"
	recoveryv1 "github.com/latchkey/latchkey/proto/gen/latchkey/recovery/v1"
)

// A client that sends its headers one byte a second holds a connection
// (and a goroutine) for as long as it likes unless the server cuts it: the
// default read-header timeout does, within its 5 seconds.
func TestHTTP_TricklingHeadersAreCut(t *testing.T) {
	b := startBackend(t)
	g := startGateway(t, gateway.Config{Backends: allBackends(b.addr)}, false)
	conn, err := net.Dial("tcp", strings.TrimPrefix(g.httpURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	start := time.Now()
	cut := make(chan struct{})
	go func() {
		defer close(cut)
		_, _ = io.Copy(io.Discard, conn) // returns when the server closes
	}()
	request := "GET /healthz HTTP/1.1\r\nHost: gateway\r\nX-Slow: " + strings.Repeat("a", 30) + "\r\n\r\n"
	for i := 0; i < len(request); i++ {
		select {
		case <-cut:
			if elapsed := time.Since(start); elapsed > DefaultReadHeaderBound {
				t.Fatalf("cut after %s, want within %s", elapsed, DefaultReadHeaderBound)
			}
			return
		case <-time.After(time.Second):
		}
		if _, err := conn.Write([]byte{request[i]}); err != nil {
			return // the server closed: cut
		}
	}
	t.Fatalf("the whole trickled request was accepted after %s", time.Since(start))
}

// DefaultReadHeaderBound is when the trickling client must be cut by.
const DefaultReadHeaderBound = 7 * time.Second

func TestRateLimit_OneAddressLimitedOthersServed_RESTAndGRPC(t *testing.T) {
	b := startBackend(t)
	clk := clock.NewFake(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))
	g := startGateway(t, gateway.Config{
		Backends:       allBackends(b.addr),
		TrustedProxies: []string{"127.0.0.1"}, // the test client poses as a proxy
		RateLimit:      gateway.RateLimit{PerMinute: 30, Burst: 3},
		Clock:          clk,
	}, false)
	reset := func(from string) (int, http.Header, string) {
		t.Helper()
		req, err := http.NewRequest("POST", g.httpURL+"/v1/recovery/password-reset", strings.NewReader(`{"tenant":"acme","login":"ann"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Forwarded-For", from)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(body)
	}

	const office, other = "203.0.113.7", "198.51.100.4"
	for i := range 3 {
		if code, _, body := reset(office); code != http.StatusAccepted {
			t.Fatalf("call %d within the burst = %d %s", i+1, code, body)
		}
	}
	code, header, body := reset(office)
	if code != http.StatusTooManyRequests || !strings.Contains(body, `"reason":"RATE_LIMITED"`) || !strings.Contains(body, `"domain":"latchkey.dev"`) {
		t.Fatalf("call above the burst = %d %s, want 429 RATE_LIMITED", code, body)
	}
	// 30 a minute: the next token comes in 2 seconds.
	if got := header.Get("Retry-After"); got != "2" {
		t.Errorf("Retry-After = %q, want 2", got)
	}
	if header.Get("Cache-Control") != "no-store" || header.Get(requestid.Header) == "" {
		t.Errorf("429 headers = %v, want no-store and a request id", header)
	}
	if code, _, body := reset(other); code != http.StatusAccepted {
		t.Errorf("another address = %d %s, want it served", code, body)
	}
	if code, _ := do(t, "GET", g.httpURL+"/v1/admin/accounts/a-1", "", http.Header{"X-Forwarded-For": {office}}); code != http.StatusOK {
		t.Errorf("an unlimited route from the limited address = %d, want 200", code)
	}

	// The same bucket over gRPC: the office has none left either way.
	client := recoveryv1.NewRecoveryServiceClient(dialGRPC(t, g.grpcAddr))
	var answerMD metadata.MD
	ctx := metadata.AppendToOutgoingContext(callCtx(t), "x-forwarded-for", office)
	_, err := client.RequestPasswordReset(ctx, &recoveryv1.RequestPasswordResetRequest{Tenant: "acme", Login: "ann"}, grpc.Header(&answerMD))
	st := status.Convert(err)
	if st.Code() != codes.ResourceExhausted || !slices.ContainsFunc(st.Details(), func(d any) bool {
		info, ok := d.(*errdetails.ErrorInfo)
		return ok && info.GetReason() == "RATE_LIMITED" && info.GetMetadata()["retryAfterSeconds"] == "2"
	}) {
		t.Fatalf("gRPC call above the limit = %v %v, want ResourceExhausted RATE_LIMITED", err, st.Details())
	}
	if len(answerMD.Get(requestid.MetadataKey)) != 1 {
		t.Errorf("gRPC answer headers %v lack the request id", answerMD)
	}
	ctx = metadata.AppendToOutgoingContext(callCtx(t), "x-forwarded-for", other)
	if _, err := client.RequestPasswordReset(ctx, &recoveryv1.RequestPasswordResetRequest{Tenant: "acme", Login: "ann"}); err != nil {
		t.Errorf("gRPC call from another address = %v", err)
	}

	// Tokens come back with time.
	clk.Advance(2 * time.Second)
	if code, _, body := reset(office); code != http.StatusAccepted {
		t.Errorf("after the wait = %d %s, want 202", code, body)
	}
}

func TestRequestID_KeptOrMade_PassedOnAndAnswered(t *testing.T) {
	b := startBackend(t)
	g := startGateway(t, gateway.Config{Backends: allBackends(b.addr)}, false)
	tests := []struct {
		name, sent string
		kept       bool
	}{
		{"client's id kept", "client-req.42", true},
		{"none sent", "", false},
		{"too long replaced", strings.Repeat("x", 65), false},
		{"not printable replaced", "two words", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest("GET", g.httpURL+"/v1/admin/accounts/a-1", nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.sent != "" {
				req.Header.Set(requestid.Header, tt.sent)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(bufio.NewReader(resp.Body))
			resp.Body.Close()
			got := resp.Header.Get(requestid.Header)
			if !requestid.Valid(got) || (got == tt.sent) != tt.kept {
				t.Fatalf("answer's X-Request-Id = %q for %q sent, kept want %v", got, tt.sent, tt.kept)
			}
			if backendGot := b.last(t, "GetAccount").Get(requestid.MetadataKey); !slices.Equal(backendGot, []string{got}) {
				t.Errorf("backend got x-request-id %q, want [%s]", backendGot, got)
			}
			if strings.Contains(string(body), got) {
				t.Errorf("the id is in the body: %s", body)
			}
		})
	}
}
