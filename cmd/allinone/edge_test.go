package allinone_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/cmd/allinone"
	"github.com/latchkey/latchkey/gateway"
	"github.com/latchkey/latchkey/libs/requestid"
	"github.com/latchkey/latchkey/libs/testkit"
)

// get sends a GET with header and returns the status, headers and body.
func get(t *testing.T, url string, header http.Header) (int, http.Header, string) {
	t.Helper()
	return send(t, "GET", url, "", header)
}

func send(t *testing.T, method, url, body string, header http.Header) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestEdge_MailboxForThisMachineOrTheOperatorOnly(t *testing.T) {
	edge := loopbackEdge
	edge.TrustedProxies = []string{"127.0.0.1"} // a proxy on this machine
	inst := startWithConfig(t, false, allinone.Config{Edge: edge, DataDir: t.TempDir(), NATSURL: testkit.NATS(t).URL,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if inst.MailboxURL == "" {
		t.Fatal("no mailbox")
	}
	forwarded := http.Header{"X-Forwarded-For": {"203.0.113.5"}}
	withToken := func(h http.Header, token string) http.Header {
		h = h.Clone()
		h.Set("Authorization", "Bearer "+token)
		return h
	}
	tests := []struct {
		name   string
		header http.Header
		want   int
	}{
		{"this machine", nil, http.StatusOK},
		{"relayed by a proxy here", forwarded, http.StatusNotFound},
		{"relayed, with the operator token", withToken(forwarded, inst.OperatorToken), http.StatusOK},
		{"relayed, with another token", withToken(forwarded, inst.OperatorToken+"x"), http.StatusNotFound},
	}
	for _, tt := range tests {
		for _, path := range []string{"", "messages"} {
			if code, _, body := get(t, inst.MailboxURL+path, tt.header); code != tt.want {
				t.Errorf("%s: /ui/mailbox/%s = %d %.100s, want %d", tt.name, path, code, body, tt.want)
			}
		}
	}
}

func TestEdge_ManagementListener_MetricsAndReadinessDetails(t *testing.T) {
	inst := startWithConfig(t, false, allinone.Config{Edge: loopbackEdge, DataDir: t.TempDir(), NATSURL: testkit.NATS(t).URL,
		ManagementAddr: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if !strings.HasPrefix(inst.ManagementURL, "http://127.0.0.1:") {
		t.Fatalf("ManagementURL = %q", inst.ManagementURL)
	}
	if code, _, _ := get(t, inst.HTTPURL+"/metrics", nil); code != http.StatusNotFound {
		t.Errorf("public /metrics = %d, want 404", code)
	}
	if code, _, body := get(t, inst.ManagementURL+"/metrics", nil); code != 200 || !strings.Contains(body, "grpc_server_handled_total") {
		t.Errorf("management /metrics = %d, %d bytes, want 200 with the services' metrics", code, len(body))
	}
	// The on-call metrics of every service are wired (README, "Traces and metrics").
	testkit.Eventually(t, 10*time.Second, func() error {
		_, _, body := get(t, inst.ManagementURL+"/metrics", nil)
		for _, series := range []string{
			`latchkey_outbox_pending_events{service="account"}`, `latchkey_outbox_pending_events{service="credential"}`,
			`latchkey_outbox_pending_events{service="mfa"}`, `latchkey_outbox_pending_events{service="notification"}`,
			`latchkey_outbox_pending_events{service="recovery"}`,
			// One pool for the three hashing services (allinone.Config.sharesHashPool).
			`latchkey_password_hash_queue_length{service="all-in-one"}`,
			`latchkey_account_locks_total{reason="failed_attempts"}`, `latchkey_notification_email_deliveries_total{outcome="sent"}`,
			`latchkey_inbox_pending_messages{consumer=`,
		} {
			if !strings.Contains(body, series) {
				return fmt.Errorf("management /metrics has no %s", series)
			}
		}
		return nil
	})
	if code, _, body := get(t, inst.HTTPURL+"/readyz", nil); code != 200 || body != "ready\n" {
		t.Errorf("public /readyz = %d %q, want 200 \"ready\"", code, body)
	}
	code, _, body := get(t, inst.ManagementURL+"/readyz", nil)
	var report struct{ Status string }
	if err := json.Unmarshal([]byte(body), &report); code != 200 || err != nil || report.Status != "ok" {
		t.Errorf("management /readyz = %d %q, want 200 with a JSON report", code, body)
	}
	if code, _, _ := get(t, inst.ManagementURL+"/healthz", nil); code != 200 {
		t.Errorf("management /healthz = %d", code)
	}
}

// linesNaming returns the JSON log lines that name request id.
func linesNaming(logs *testkit.LogBuffer, id string) []map[string]any {
	var out []map[string]any
	for line := range strings.SplitSeq(logs.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m[requestid.LogKey] == id {
			out = append(out, m)
		}
	}
	return out
}

// At debug (LATCHKEY_LOG_LEVEL=debug: the hops behind the edge log their
// calls at debug only, logx) every service a request crosses names it.
func TestEdge_RequestIDAnsweredAndLoggedByEveryServiceItCrosses(t *testing.T) {
	logs := &testkit.LogBuffer{}
	inst := startWithConfig(t, false, allinone.Config{Edge: loopbackEdge, DataDir: t.TempDir(), NATSURL: testkit.NATS(t).URL,
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})

	const id = "e2e-request-7"
	code, header, body := send(t, "POST", inst.HTTPURL+"/v1/auth/login", `{"tenant":"nope","username":"ann","password":"wrong password"}`,
		http.Header{requestid.Header: {id}, "Content-Type": {"application/json"}})
	if code != http.StatusUnauthorized || header.Get(requestid.Header) != id {
		t.Fatalf("login = %d, X-Request-Id %q; want 401 and %q", code, header.Get(requestid.Header), id)
	}
	if strings.Contains(body, id) {
		t.Errorf("the request id is in the body: %s", body)
	}
	seen := map[string]bool{}
	for _, line := range linesNaming(logs, id) {
		if s, ok := line["service"].(string); ok {
			seen[s] = true
		}
	}
	// The gateway, the credential service it calls, and the account
	// service credential asks who "ann" is.
	for _, s := range []string{"gateway", "credential", "account"} {
		if !seen[s] {
			t.Errorf("no %s log line names the request id (seen: %v)", s, seen)
		}
	}
}

func TestEdge_LogInRateLimitedPerAddress(t *testing.T) {
	edge := loopbackEdge
	edge.TrustedProxies = []string{"127.0.0.1"} // the test poses as a proxy for two addresses
	edge.RateLimit = gateway.RateLimit{PerMinute: 6, Burst: 2}
	inst := startWithConfig(t, false, allinone.Config{Edge: edge, DataDir: t.TempDir(), NATSURL: testkit.NATS(t).URL,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	login := func(from string) (int, http.Header, string) {
		return send(t, "POST", inst.HTTPURL+"/v1/auth/login", `{"tenant":"nope","username":"ann","password":"wrong password"}`,
			http.Header{"X-Forwarded-For": {from}, "Content-Type": {"application/json"}})
	}
	for range 2 {
		if code, _, body := login("203.0.113.1"); code != http.StatusUnauthorized {
			t.Fatalf("log-in within the burst = %d %s", code, body)
		}
	}
	// Retry-After is the wait for the next token: at most the 10 s one
	// takes at 6 a minute, less by the time the two log-ins took (a
	// clean-clone CI run under -race saw 9).
	code, header, body := login("203.0.113.1")
	if after, err := strconv.Atoi(header.Get("Retry-After")); code != http.StatusTooManyRequests || err != nil || after < 1 || after > 10 || !strings.Contains(body, "RATE_LIMITED") {
		t.Fatalf("log-in above the limit = %d Retry-After %q %s, want 429 after 1–10 s RATE_LIMITED", code, header.Get("Retry-After"), body)
	}
	if code, _, body := login("203.0.113.2"); code != http.StatusUnauthorized {
		t.Fatalf("log-in from another address = %d %s, want it served (401)", code, body)
	}
}
