package gateway_test

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/latchkey/latchkey/gateway"
	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
)

func TestREST_CreateTenant_ReachesBackend_LowerCamelEnumNames(t *testing.T) {
	b := startBackend(t)
	g := startGateway(t, gateway.Config{Backends: allBackends(b.addr)}, false)

	code, body := do(t, "POST", g.httpURL+"/v1/tenants",
		`{"code":"acme","name":"Acme","firstAdmin":{"username":"ann@acme.test","displayName":"Ann","activation":"TEMPORARY_PASSWORD"}}`, nil)
	if code != http.StatusOK {
		t.Fatalf("status %d, body %s", code, body)
	}
	got := decode(t, body)
	admin, _ := got["firstAdmin"].(map[string]any)
	if admin["displayName"] != "Ann" || admin["status"] != "PENDING" {
		t.Errorf("firstAdmin = %v, want displayName Ann and status PENDING", admin)
	}
	if roles, _ := admin["roles"].([]any); len(roles) != 1 || roles[0] != "ADMIN" {
		t.Errorf("roles = %v, want [ADMIN]", admin["roles"])
	}
	tenant, _ := got["tenant"].(map[string]any)
	if policy, _ := tenant["policy"].(map[string]any); policy["usernameIsEmail"] != true {
		t.Errorf("tenant.policy = %v, want usernameIsEmail true", tenant["policy"])
	}
	for _, unpopulated := range []string{"termsVersion", "createTime", "terms_version"} {
		if _, ok := tenant[unpopulated]; ok {
			t.Errorf("tenant has unpopulated field %q: %s", unpopulated, body)
		}
	}
	if b.count("CreateTenant") != 1 {
		t.Errorf("backend saw %d CreateTenant calls, want 1", b.count("CreateTenant"))
	}
}

func TestREST_StatusMapping(t *testing.T) {
	b := startBackend(t)
	g := startGateway(t, gateway.Config{Backends: allBackends(b.addr)}, false)

	tests := []struct {
		name, method, path, body string
		want                     int
	}{
		{"ok with path param", "GET", "/v1/admin/accounts/a-7", "", 200},
		{"not found from backend", "GET", "/v1/admin/accounts/missing", "", 404},
		{"unimplemented rpc", "PATCH", "/v1/tenants/acme", `{"name":"x"}`, 501},
		{"jwks route reaches credential (unimplemented here)", "GET", "/.well-known/jwks.json", "", 501},
		{"invalid argument from backend", "GET", "/v1/tenants?filter=bad", "", 400},
		{"malformed json", "POST", "/v1/tenants", `{"code":`, 400},
		{"not json at all", "POST", "/v1/tenants", `code=acme`, 400},
		{"unknown field", "POST", "/v1/tenants", `{"code":"acme","bogus":1}`, 400},
		{"proto field names accepted too (protojson)", "POST", "/v1/tenants", `{"code":"acme","first_admin":{"username":"a"}}`, 200},
		{"bad enum name in body", "POST", "/v1/tenants", `{"code":"acme","firstAdmin":{"activation":"NOPE"}}`, 400},
		{"wrong json type", "POST", "/v1/tenants", `{"code":7}`, 400},
		{"bad enum name in query", "GET", "/v1/admin/accounts?status=NOPE", "", 400},
		{"bad number in query", "GET", "/v1/admin/accounts?pageSize=many", "", 400},
		{"enum name in query", "GET", "/v1/admin/accounts?status=ACTIVE&role=USER", "", 200},
		{"unknown route", "GET", "/v1/nowhere", "", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := do(t, tt.method, g.httpURL+tt.path, tt.body, nil)
			if code != tt.want {
				t.Fatalf("%s %s = %d %s, want %d", tt.method, tt.path, code, body, tt.want)
			}
			if code >= 400 {
				e := decode(t, body)
				if _, ok := e["code"]; !ok {
					t.Errorf("error body %s has no code", body)
				}
				if _, ok := e["message"]; !ok {
					t.Errorf("error body %s has no message", body)
				}
			}
		})
	}
}

func TestREST_ErrorDetailsRendered(t *testing.T) {
	b := startBackend(t)
	g := startGateway(t, gateway.Config{Backends: allBackends(b.addr)}, false)

	code, body := do(t, "GET", g.httpURL+"/v1/tenants?filter=bad", "", nil)
	if code != http.StatusBadRequest {
		t.Fatalf("status %d %s, want 400", code, body)
	}
	e := decode(t, body)
	if e["code"] != float64(3) {
		t.Errorf("code = %v, want 3 (InvalidArgument)", e["code"])
	}
	if !strings.Contains(string(body), "google.rpc.BadRequest") || !strings.Contains(string(body), "FILTER_INVALID") {
		t.Errorf("details lack the BadRequest and ErrorInfo: %s", body)
	}
}

// transportKeys are set by grpc-go itself on every call, not by a client.
var transportKeys = []string{":authority", "content-type", "user-agent", "grpc-accept-encoding"}

func TestREST_HeaderPolicy_UntrustedPeer(t *testing.T) {
	b := startBackend(t)
	g := startGateway(t, gateway.Config{Backends: allBackends(b.addr)}, false)

	code, body := do(t, "GET", g.httpURL+"/v1/tenants", "", http.Header{
		"Authorization":                 {"Bearer tok"},
		"Latchkey-Tenant":               {"acme"},
		"X-Request-Id":                  {"req-1"},
		"User-Agent":                    {"latchkey-test/1"},
		"Idempotency-Key":               {"list-1"},
		"Grpc-Metadata-Evil":            {"1"},
		"Grpc-Metadata-Latchkey-Tenant": {"other"},
		"X-Forwarded-For":               {"203.0.113.9"},
		"X-Forwarded-Host":              {"evil.test"},
		"X-Real-Ip":                     {"203.0.113.10"},
		"Accept-Language":               {"de"},
	})
	if code != http.StatusOK {
		t.Fatalf("status %d %s", code, body)
	}
	md := b.last(t, "ListTenants")
	want := map[string][]string{
		"authorization":          {"Bearer tok"},
		"latchkey-tenant":        {"acme"},
		"x-request-id":           {"req-1"},
		"grpcgateway-user-agent": {"latchkey-test/1"},
		"idempotency-key":        {"list-1"},
		"x-forwarded-for":        {"127.0.0.1"},
	}
	for k, v := range want {
		if got := md.Get(k); !slices.Equal(got, v) {
			t.Errorf("metadata %s = %q, want %q", k, got, v)
		}
	}
	if host := md.Get("x-forwarded-host"); slices.Contains(host, "evil.test") {
		t.Errorf("x-forwarded-host from an untrusted peer arrived: %q", host)
	}
	for k := range md {
		if _, ok := want[k]; !ok && k != "x-forwarded-host" && !slices.Contains(transportKeys, k) {
			t.Errorf("unexpected metadata %s = %q reached the backend", k, md.Get(k))
		}
	}
}

// A User-Agent that gRPC metadata cannot carry (grpc-gateway drops it,
// and the backend took the gateway's own grpc-go agent for the client's)
// arrives with '?' for what it cannot carry; none arrives as empty.
func TestREST_UserAgentTheMetadataCannotCarry(t *testing.T) {
	b := startBackend(t)
	g := startGateway(t, gateway.Config{Backends: allBackends(b.addr)}, false)
	for sent, want := range map[string]string{
		"Mein Büro/1.0 (Windows)": "Mein B?ro/1.0 (Windows)",
		"tab\there":               "tab?here",
		"":                        "",
		"plain/1.0":               "plain/1.0",
	} {
		if code, body := do(t, "GET", g.httpURL+"/v1/tenants", "", http.Header{"User-Agent": {sent}}); code != http.StatusOK {
			t.Fatalf("User-Agent %q: status %d %s", sent, code, body)
		}
		if got := b.last(t, "ListTenants").Get("grpcgateway-user-agent"); !slices.Equal(got, []string{want}) {
			t.Errorf("User-Agent %q arrived as %q, want %q", sent, got, want)
		}
	}
}

func TestREST_HeaderPolicy_TrustedProxy(t *testing.T) {
	b := startBackend(t)
	g := startGateway(t, gateway.Config{Backends: allBackends(b.addr), TrustedProxies: []string{"127.0.0.0/8"}}, false)

	code, body := do(t, "GET", g.httpURL+"/v1/tenants", "", http.Header{
		"X-Forwarded-For":    {"198.51.100.1, 203.0.113.9"},
		"X-Forwarded-Host":   {"id.acme.test"},
		"Grpc-Metadata-Evil": {"1"},
	})
	if code != http.StatusOK {
		t.Fatalf("status %d %s", code, body)
	}
	md := b.last(t, "ListTenants")
	// The right-most untrusted hop is the client; the left one is whatever
	// the client told the proxy.
	if got := md.Get("x-forwarded-for"); !slices.Equal(got, []string{"203.0.113.9"}) {
		t.Errorf("x-forwarded-for = %q, want [203.0.113.9]", got)
	}
	if got := md.Get("x-forwarded-host"); !slices.Equal(got, []string{"id.acme.test"}) {
		t.Errorf("x-forwarded-host = %q, want the proxy's", got)
	}
	if got := md.Get("evil"); len(got) != 0 {
		t.Errorf("Grpc-Metadata-Evil arrived even via a trusted proxy: %q", got)
	}
}

func TestBackendDown_503WithoutInternalDetails(t *testing.T) {
	dead := deadAddr(t)
	g := startGateway(t, gateway.Config{Backends: allBackends(dead)}, false)

	code, body := do(t, "GET", g.httpURL+"/v1/tenants", "", nil)
	if code != http.StatusServiceUnavailable {
		t.Fatalf("REST = %d %s, want 503", code, body)
	}
	if strings.Contains(string(body), dead) || strings.Contains(string(body), "refused") {
		t.Errorf("REST error leaks the backend: %s", body)
	}

	_, err := accountv1.NewTenantServiceClient(dialGRPC(t, g.grpcAddr)).ListTenants(callCtx(t), &accountv1.ListTenantsRequest{})
	if st := status.Convert(err); st.Code() != codes.Unavailable || strings.Contains(st.Message(), dead) {
		t.Errorf("gRPC = %v, want Unavailable without the backend address", err)
	}
}

// PATCH follows AIP-134: the body is the account, ?updateMask= names what
// changes, and without it grpc-gateway names the fields the body gives.
func TestREST_UpdateAccount_BodyIsTheAccount_MaskFromQueryOrBody(t *testing.T) {
	b := startBackend(t)
	g := startGateway(t, gateway.Config{Backends: allBackends(b.addr)}, false)

	tests := []struct {
		name, query, body string
		wantMask          []string // sorted
	}{
		{"mask from the query", "?updateMask=displayName", `{"displayName":"Ann","locale":"nl"}`, []string{"displayName"}},
		{"several paths", "?updateMask=displayName,roles", `{"roles":["CLIENT"]}`, []string{"displayName", "roles"}},
		{"no mask: the fields of the body", "", `{"displayName":"Ann","roles":["CLIENT"]}`, []string{"display_name", "roles"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := do(t, "PATCH", g.httpURL+"/v1/admin/accounts/a-7"+tt.query, tt.body, nil)
			if code != http.StatusOK {
				t.Fatalf("status %d, body %s", code, body)
			}
			b.mu.Lock()
			req := b.lastUpdate
			b.mu.Unlock()
			mask := slices.Sorted(slices.Values(req.GetUpdateMask().GetPaths()))
			if req.GetId() != "a-7" || !slices.Equal(mask, tt.wantMask) {
				t.Errorf("backend got id %q, mask %v; want a-7, %v", req.GetId(), mask, tt.wantMask)
			}
			if strings.Contains(tt.body, "CLIENT") && !slices.Equal(req.GetAccount().GetRoles(), []accountv1.Role_Value{accountv1.Role_CLIENT}) {
				t.Errorf("roles = %v, want plain [CLIENT]", req.GetAccount().GetRoles())
			}
		})
	}
	// The first version's shape, roles: {values: [...]}, is no longer the body.
	if code, body := do(t, "PATCH", g.httpURL+"/v1/admin/accounts/a-7", `{"roles":{"values":["USER"]}}`, nil); code != http.StatusBadRequest {
		t.Errorf("roles as an object: %d %s, want 400", code, body)
	}
}

// API.md: answers are not kept by caches (they may carry tokens), and the
// "we e-mail you if the account exists" calls answer 202 with nothing in it.
func TestREST_Answers_NoStore_AndAcceptedForPasswordReset(t *testing.T) {
	b := startBackend(t)
	g := startGateway(t, gateway.Config{Backends: allBackends(b.addr)}, false)

	tests := []struct {
		name, method, path, body string
		wantStatus               int
	}{
		{"an ordinary answer", "GET", "/v1/admin/accounts/a-7", "", http.StatusOK},
		{"password reset request", "POST", "/v1/recovery/password-reset", `{"tenant":"acme","login":"ann"}`, http.StatusAccepted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, g.httpURL+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus || resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("%s %s = %d, Cache-Control %q, body %s; want %d and no-store",
					tt.method, tt.path, resp.StatusCode, resp.Header.Get("Cache-Control"), body, tt.wantStatus)
			}
			if tt.wantStatus == http.StatusAccepted && strings.TrimSpace(string(body)) != "{}" {
				t.Errorf("202 body = %s, want {}", body)
			}
		})
	}
}
