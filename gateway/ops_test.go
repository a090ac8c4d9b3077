package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/latchkey/latchkey/gateway"
)

func TestOpenAPI_PublicDocument(t *testing.T) {
	b := startBackend(t)
	g := startGateway(t, gateway.Config{Backends: allBackends(b.addr)}, false)

	code, body := do(t, "GET", g.httpURL+"/openapi.json", "", nil)
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	var doc struct {
		Swagger string                    `json:"swagger"`
		Tags    []struct{ Name string }   `json:"tags"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if _, ok := doc.Paths["/v1/tenants"]; !ok {
		t.Error("no /v1/tenants path")
	}
	if len(doc.Tags) == 0 {
		t.Error("no tags left at all")
	}
	for _, tag := range doc.Tags {
		if strings.HasSuffix(tag.Name, "InternalService") {
			t.Errorf("internal tag %s published", tag.Name)
		}
	}
	if !slices.ContainsFunc(doc.Tags, func(t struct{ Name string }) bool { return t.Name == "TenantService" }) {
		t.Error("public tag TenantService missing")
	}
}

func TestHealthz_UpWithBackendsDown(t *testing.T) {
	g := startGateway(t, gateway.Config{Backends: allBackends(deadAddr(t))}, false)
	if code, body := do(t, "GET", g.httpURL+"/healthz", "", nil); code != http.StatusOK {
		t.Fatalf("healthz = %d %s, want 200", code, body)
	}
}

func TestReadyz_PublicSaysReadyOrNot_ManagementSaysWhat(t *testing.T) {
	b := startBackend(t)
	// A service whose database is down answers, but NOT_SERVING.
	sick := startBackend(t)
	sick.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	dead := deadAddr(t)
	natsDown := errors.New("nats down")
	withNotification := func(bs gateway.Backends, addr string) gateway.Backends {
		bs.Notification = addr
		return bs
	}

	tests := []struct {
		name         string
		backends     gateway.Backends
		nats         func(context.Context) error
		wantCode     int
		wantStatus   string
		wantFailed   []string
		wantDegraded []string
	}{
		{"all up", allBackends(b.addr), nil, 200, "ok", nil, nil},
		{"all up, NATS too", withNotification(allBackends(b.addr), b.addr), func(context.Context) error { return nil }, 200, "ok", nil, nil},
		{"one backend down", gateway.Backends{Account: b.addr, Credential: b.addr, Recovery: dead, MFA: b.addr}, nil, 503, "unavailable", []string{"recovery"}, nil},
		{"one backend not serving", gateway.Backends{Account: b.addr, Credential: sick.addr, Recovery: b.addr, MFA: b.addr}, nil, 503, "unavailable", []string{"credential"}, nil},
		{"notification down", withNotification(allBackends(b.addr), dead), nil, 503, "unavailable", []string{"notification"}, nil},
		// The outboxes keep the events while NATS is away: every call
		// still works, so the gateway stays in service, degraded.
		{"NATS down", allBackends(b.addr), func(context.Context) error { return natsDown }, 200, "degraded", nil, []string{"nats"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := startGateway(t, gateway.Config{Backends: tt.backends, NATS: tt.nats}, false)
			code, body := do(t, "GET", g.httpURL+"/readyz", "", nil)
			wantBody := map[int]string{200: "ready\n", 503: "not ready\n"}[tt.wantCode]
			if code != tt.wantCode || string(body) != wantBody {
				t.Fatalf("public readyz = %d %q, want %d %q", code, body, tt.wantCode, wantBody)
			}

			mgmt := httptest.NewServer(g.gw.ReadinessDetails())
			defer mgmt.Close()
			code, body = do(t, "GET", mgmt.URL+"/readyz", "", nil)
			if code != tt.wantCode {
				t.Fatalf("management readyz = %d %s, want %d", code, body, tt.wantCode)
			}
			var report struct {
				Status   string   `json:"status"`
				Failed   []string `json:"failed"`
				Degraded []string `json:"degraded"`
			}
			if err := json.Unmarshal(body, &report); err != nil {
				t.Fatalf("body %q: %v", body, err)
			}
			if report.Status != tt.wantStatus || !slices.Equal(report.Failed, tt.wantFailed) || !slices.Equal(report.Degraded, tt.wantDegraded) {
				t.Errorf("report = %s, want status %s, failed %q, degraded %q", body, tt.wantStatus, tt.wantFailed, tt.wantDegraded)
			}
			if strings.Contains(string(body), dead) || strings.Contains(string(body), "nats down") {
				t.Errorf("readyz leaks failure details: %s", body)
			}
		})
	}
}

func TestMetrics_CountsRESTCalls_NotOnThePublicPort(t *testing.T) {
	b := startBackend(t)
	g := startGateway(t, gateway.Config{Backends: allBackends(b.addr)}, false)

	if code, _ := do(t, "GET", g.httpURL+"/v1/admin/accounts/a-1", "", nil); code != 200 {
		t.Fatalf("call = %d", code)
	}
	if code, body := do(t, "GET", g.httpURL+"/metrics", "", nil); code != http.StatusNotFound {
		t.Errorf("public /metrics = %d %.80s, want 404 (management listener only)", code, body)
	}
	var body strings.Builder
	families, err := g.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range families {
		body.WriteString(mf.String())
	}
	for _, want := range []string{"latchkey_gateway_http_requests_total", `value:"/v1/admin/accounts/{id=*}"`, "grpc_client_handled_total"} {
		if !strings.Contains(body.String(), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestPages_MountedUnderUI(t *testing.T) {
	b := startBackend(t)
	pages := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("page " + r.URL.Path)) })
	g := startGateway(t, gateway.Config{Backends: allBackends(b.addr), Pages: pages}, false)
	code, body := do(t, "GET", g.httpURL+"/ui/login", "", nil)
	if code != 200 || string(body) != "page /ui/login" {
		t.Errorf("/ui/login = %d %q", code, body)
	}
}

func TestNew_RejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  gateway.Config
	}{
		{"missing backend", gateway.Config{Backends: gateway.Backends{Account: "127.0.0.1:1"}}},
		{"bad trusted proxy", gateway.Config{Backends: allBackends("127.0.0.1:1"), TrustedProxies: []string{"not-an-ip"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if g, err := gateway.New(context.Background(), tt.cfg); err == nil {
				_ = g.Close()
				t.Fatal("New succeeded, want an error")
			}
		})
	}
}
