package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"

	"github.com/latchkey/latchkey/gateway"
	"github.com/latchkey/latchkey/libs/keyring"
	"github.com/latchkey/latchkey/libs/logx"
	"github.com/latchkey/latchkey/libs/requestid"
	"github.com/latchkey/latchkey/libs/testkit"
	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
)

// accessLines parses what logs holds, by request id.
func accessLines(t *testing.T, logs *testkit.LogBuffer) map[string][]map[string]any {
	t.Helper()
	out := map[string][]map[string]any{}
	for line := range strings.SplitSeq(strings.TrimSpace(logs.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		id, _ := m[requestid.LogKey].(string)
		out[id] = append(out[id], m)
	}
	return out
}

// Every client call, REST or gRPC, has one access line at the edge, at the
// level its answer deserves: a client's mistake or a method this version
// lacks is INFO, not an alarm.
func TestAccessLog_OneLinePerCallRESTAndGRPC(t *testing.T) {
	b := startBackend(t)
	logs := &testkit.LogBuffer{}
	log, err := logx.New(logs, "info")
	if err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, gateway.Config{Backends: allBackends(b.addr), Logger: log}, false)
	rest := func(id, method, path, body string) {
		do(t, method, g.httpURL+path, body, http.Header{requestid.Header: {id}})
	}
	rest("rest-ok", "GET", "/v1/tenants", "")
	rest("rest-invalid", "GET", "/v1/tenants?filter=bad", "")
	rest("rest-unimplemented", "PATCH", "/v1/tenants/acme", `{"name":"x"}`)
	conn := dialGRPC(t, g.grpcAddr)
	grpcCall := func(id string, call func(ctx context.Context) error) {
		_ = call(metadata.AppendToOutgoingContext(callCtx(t), requestid.MetadataKey, id))
	}
	grpcCall("grpc-ok", func(ctx context.Context) error {
		_, err := accountv1.NewTenantServiceClient(conn).ListTenants(ctx, &accountv1.ListTenantsRequest{})
		return err
	})
	grpcCall("grpc-unimplemented", func(ctx context.Context) error {
		_, err := accountv1.NewAccountServiceClient(conn).GetMe(ctx, &accountv1.GetMeRequest{})
		return err
	})

	want := map[string]string{
		"rest-ok": "INFO", "rest-invalid": "INFO", "rest-unimplemented": "INFO",
		"grpc-ok": "INFO", "grpc-unimplemented": "INFO",
	}
	testkit.Eventually(t, 5*time.Second, func() error {
		lines := accessLines(t, logs)
		for id := range want {
			if len(lines[id]) == 0 {
				return fmt.Errorf("no line of %s yet", id)
			}
		}
		return nil
	})
	lines := accessLines(t, logs)
	for id, level := range want {
		if got := lines[id]; len(got) != 1 || got[0]["level"] != level {
			t.Errorf("%s: lines %v, want one at %s", id, got, level)
		}
	}
}

// A backend that cannot be reached is our trouble: the access line is a
// WARN and holds what the client was not told (the refused connection),
// on that one line, for REST and gRPC alike.
func TestAccessLog_HiddenFailureIsOnTheLine(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := lis.Addr().String()
	lis.Close()
	logs := &testkit.LogBuffer{}
	g := startGateway(t, gateway.Config{Backends: allBackends(gone), Logger: slog.New(slog.NewJSONHandler(logs, nil))}, false)
	ctx := metadata.AppendToOutgoingContext(callCtx(t), requestid.MetadataKey, "grpc-down")
	if _, err := accountv1.NewTenantServiceClient(dialGRPC(t, g.grpcAddr)).ListTenants(ctx, &accountv1.ListTenantsRequest{}); err == nil {
		t.Fatal("a call to a backend that is not there worked")
	}
	if code, _ := do(t, "GET", g.httpURL+"/v1/tenants", "", http.Header{requestid.Header: {"rest-down"}}); code != http.StatusServiceUnavailable {
		t.Fatalf("REST call to a backend that is not there = %d, want 503", code)
	}
	for id, codeKey := range map[string]string{"grpc-down": "grpc.code", "rest-down": "http.status"} {
		var got []map[string]any
		testkit.Eventually(t, 5*time.Second, func() error {
			if got = accessLines(t, logs)[id]; len(got) == 0 {
				return errors.New("no line yet")
			}
			return nil
		})
		if len(got) != 1 || got[0]["level"] != "WARN" || got[0][codeKey] == nil || got[0]["error"] == nil {
			t.Errorf("lines of %s = %v, want one WARN access line with the hidden error", id, got)
		}
	}
}

// Above the rate, access lines are left out and counted, and the count is
// logged: the log stops growing with the traffic, never silently.
func TestAccessLog_SampledAboveTheRate(t *testing.T) {
	b := startBackend(t)
	logs := &testkit.LogBuffer{}
	g := startGateway(t, gateway.Config{Backends: allBackends(b.addr), Logger: slog.New(slog.NewJSONHandler(logs, nil)), AccessLogRate: 2}, false)
	const calls = 20
	for range calls {
		do(t, "GET", g.httpURL+"/v1/tenants", "", nil)
	}
	count := func() (written, dropped int) {
		for _, ls := range accessLines(t, logs) {
			for _, l := range ls {
				switch l["msg"] {
				case "http call":
					written++
				case "access lines dropped":
					dropped += int(l["dropped"].(float64))
				}
			}
		}
		return written, dropped
	}
	testkit.Eventually(t, 5*time.Second, func() error {
		if w, d := count(); w+d != calls {
			return fmt.Errorf("%d written + %d dropped, want %d calls", w, d, calls)
		}
		return nil
	})
	if w, _ := count(); w > calls/2 {
		t.Fatalf("%d of %d lines written at 2 a second", w, calls)
	}
}

// The hosted pages have their access line too, named by the page's
// pattern rather than its path, which can carry a link's token.
func TestAccessLog_HostedPagesHaveTheirLine(t *testing.T) {
	b := startBackend(t)
	logs := &testkit.LogBuffer{}
	log, err := logx.New(logs, "info")
	if err != nil {
		t.Fatal(err)
	}
	ring, err := keyring.Parse(keyring.Generate())
	if err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, gateway.Config{Backends: allBackends(b.addr), Logger: log, UISessionKeys: ring}, false)
	do(t, "GET", g.httpURL+"/ui/sign-in", "", http.Header{requestid.Header: {"page"}})
	do(t, "GET", g.httpURL+"/ui/settings/secret-token-in-path", "", http.Header{requestid.Header: {"page-with-token"}})
	testkit.Eventually(t, 5*time.Second, func() error {
		lines := accessLines(t, logs)
		if len(lines["page"]) == 0 || len(lines["page-with-token"]) == 0 {
			return fmt.Errorf("lines %v", lines)
		}
		return nil
	})
	lines := accessLines(t, logs)
	if got := lines["page"]; len(got) != 1 || got[0]["http.route"] != "/ui/sign-in" || got[0]["http.status"] != float64(200) || got[0]["level"] != "INFO" {
		t.Errorf("sign-in page: %v", got)
	}
	// Signed out, the page sends the browser to sign in (which the client
	// follows, with the same request id): a line for each.
	if got := lines["page-with-token"]; len(got) != 2 || got[0]["http.route"] != "/ui/settings/{what...}" || got[0]["http.status"] != float64(303) {
		t.Errorf("a page with more path: %v", got)
	}
	if strings.Contains(logs.String(), "secret-token-in-path") {
		t.Error("a page's path is in the log")
	}
}
