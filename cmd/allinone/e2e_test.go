package allinone_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/latchkey/latchkey/libs/testkit"
	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
)

// eachStore runs fn against the whole suite on PostgreSQL and on SQLite.
func eachStore(t *testing.T, fn func(t *testing.T, op client, grpcAddr string)) {
	for _, pg := range []bool{true, false} {
		name := map[bool]string{true: "postgres", false: "sqlite"}[pg]
		t.Run(name, func(t *testing.T) {
			inst := start(t, pg, testkit.NATS(t).URL, t.TempDir())
			fn(t, client{t: t, base: inst.HTTPURL, token: inst.OperatorToken}, inst.GRPCAddr)
		})
	}
}

func uniqueCode(t *testing.T, prefix string) string {
	return fmt.Sprintf("%s-%s", prefix, strings.ToLower(testkit.UniquePrefix(t)[len(testkit.UniquePrefix(t))-8:]))
}

func TestOperator_CreatesAndListsTenants(t *testing.T) {
	eachStore(t, func(t *testing.T, op client, _ string) {
		code := uniqueCode(t, "eshc")
		st, body := op.do("POST", "/v1/tenants", map[string]any{
			"code": code, "name": "ESHC Live",
			"policy":     map[string]any{"usernameIsEmail": true, "password": map[string]any{"minLength": 10, "minDigits": 1}},
			"firstAdmin": map[string]any{"username": "admin@eshc.example", "email": "admin@eshc.example", "displayName": "Admin"},
		})
		if st != 200 {
			t.Fatalf("create tenant: %d %v", st, body)
		}
		tenant := body["tenant"].(map[string]any)
		policy := tenant["policy"].(map[string]any)
		pw := policy["password"].(map[string]any)
		if policy["usernameIsEmail"] != true || pw["minLength"] != 10.0 || pw["minDigits"] != 1.0 || pw["expiryWarningDays"] != 14.0 {
			t.Fatalf("policy = %v: want given fields and defaults for the rest", policy)
		}
		admin := body["firstAdmin"].(map[string]any)
		if admin["status"] != "PENDING" || fmt.Sprint(admin["roles"]) != "[ADMIN]" {
			t.Fatalf("first admin = %v", admin)
		}

		if st, body := op.do("POST", "/v1/tenants", map[string]any{"code": code, "name": "again"}); st != http.StatusConflict {
			t.Fatalf("same code again: %d %v, want 409", st, body)
		}
		st, body = op.do("POST", "/v1/tenants", map[string]any{"code": "has spaces", "name": "x"})
		if st != 400 || !slices.Contains(fieldViolations(body), "code") {
			t.Fatalf("code with spaces: %d %v, want 400 naming code", st, body)
		}
		anon := op
		anon.token = ""
		if st, _ := anon.do("POST", "/v1/tenants", map[string]any{"code": uniqueCode(t, "x"), "name": "x"}); st != 401 {
			t.Fatalf("no token: %d, want 401", st)
		}
		wrong := op
		wrong.token = "lko_wrong"
		if st, _ := wrong.do("GET", "/v1/tenants", nil); st != 401 {
			t.Fatalf("wrong token: %d, want 401", st)
		}

		st, body = op.do("GET", "/v1/tenants?filter="+code, nil)
		if st != 200 || len(items(body, "tenants")) != 1 {
			t.Fatalf("list tenants: %d %v", st, body)
		}
	})
}

func TestAccounts_CreatedThroughGRPC_ListedThroughREST(t *testing.T) {
	eachStore(t, func(t *testing.T, op client, grpcAddr string) {
		code := uniqueCode(t, "train")
		if st, body := op.do("POST", "/v1/tenants", map[string]any{"code": code, "name": "Training"}); st != 200 {
			t.Fatalf("create tenant: %d %v", st, body)
		}
		admin := accountv1.NewAccountAdminServiceClient(grpcConn(t, grpcAddr))
		ctx := withAuth(context.Background(), op.token, code)
		created, err := admin.CreateAccount(ctx, &accountv1.CreateAccountRequest{
			Username: "Jan.Jansen", Email: "jan@train.example", DisplayName: "Jan Jansen",
			Roles: []accountv1.Role_Value{accountv1.Role_USER},
		})
		if err != nil {
			t.Fatalf("CreateAccount over gRPC: %v", err)
		}
		_, err = admin.CreateAccount(ctx, &accountv1.CreateAccountRequest{
			Username: "JAN.JANSEN", Email: "other@train.example", DisplayName: "Other", Roles: []accountv1.Role_Value{accountv1.Role_USER},
		})
		if status.Code(err) != codes.AlreadyExists {
			t.Fatalf("same username in other case: %v, want AlreadyExists", err)
		}

		inTenant := op.asTenant(code)
		st, body := inTenant.do("GET", "/v1/admin/accounts?filter=jansen", nil)
		if st != 200 {
			t.Fatalf("list: %d %v", st, body)
		}
		accounts := items(body, "accounts")
		if len(accounts) != 1 || accounts[0].(map[string]any)["id"] != created.Account.Id {
			t.Fatalf("listed %v, want the account made over gRPC", accounts)
		}
		got := accounts[0].(map[string]any)
		if got["username"] != "Jan.Jansen" || fmt.Sprint(got["roles"]) != "[USER]" || got["status"] != "PENDING" {
			t.Fatalf("account = %v", got)
		}
		if st, _ := inTenant.do("GET", "/v1/admin/accounts/"+created.Account.Id, nil); st != 200 {
			t.Fatalf("get: %d", st)
		}
	})
}

func TestAccounts_PagesThroughREST(t *testing.T) {
	eachStore(t, func(t *testing.T, op client, _ string) {
		code := uniqueCode(t, "pages")
		op.do("POST", "/v1/tenants", map[string]any{"code": code, "name": "Pages"})
		c := op.asTenant(code)
		var want []string
		for i := 0; i < 5; i++ {
			st, body := c.do("POST", "/v1/admin/accounts", map[string]any{
				"username": fmt.Sprintf("u%d", i), "email": fmt.Sprintf("u%d@x.example", i), "displayName": "U", "roles": []string{"USER"},
			})
			if st != 200 {
				t.Fatalf("create: %d %v", st, body)
			}
			want = append(want, body["account"].(map[string]any)["id"].(string))
		}
		var got []string
		token := ""
		for pages := 0; pages < 10; pages++ {
			st, body := c.do("GET", "/v1/admin/accounts?pageSize=2&pageToken="+token, nil)
			if st != 200 {
				t.Fatalf("page: %d %v", st, body)
			}
			for _, a := range items(body, "accounts") {
				got = append(got, a.(map[string]any)["id"].(string))
			}
			token, _ = body["nextPageToken"].(string)
			if token == "" {
				break
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("pages gave %v, want %v", got, want)
		}
	})
}

func TestBadInput_Is400NamingTheField(t *testing.T) {
	eachStore(t, func(t *testing.T, op client, _ string) {
		code := uniqueCode(t, "bad")
		op.do("POST", "/v1/tenants", map[string]any{"code": code, "name": "Bad", "policy": map[string]any{"usernameIsEmail": true}})
		c := op.asTenant(code)
		long := strings.Repeat("x", 300)
		for _, tc := range []struct {
			name, method, path string
			body               any
			field              string // "" when the framework's own 400 has no field list
		}{
			{"empty tenant code", "POST", "/v1/tenants", map[string]any{"name": "x"}, "code"},
			{"empty tenant name", "POST", "/v1/tenants", map[string]any{"code": uniqueCode(t, "nn")}, "name"},
			{"over-long tenant name", "POST", "/v1/tenants", map[string]any{"code": uniqueCode(t, "ln"), "name": long}, "name"},
			{"policy min length below 8", "POST", "/v1/tenants", map[string]any{"code": uniqueCode(t, "pl"), "name": "x", "policy": map[string]any{"password": map[string]any{"minLength": 4}}}, "policy.password.minLength"},
			{"negative history", "POST", "/v1/tenants", map[string]any{"code": uniqueCode(t, "nh"), "name": "x", "policy": map[string]any{"password": map[string]any{"historyCount": -1}}}, "policy.password.historyCount"},
			{"first admin bad e-mail", "POST", "/v1/tenants", map[string]any{"code": uniqueCode(t, "fa"), "name": "x", "firstAdmin": map[string]any{"username": "a", "email": "nope", "displayName": "A"}}, "firstAdmin.email"},
			{"malformed JSON", "POST", "/v1/tenants", `{"code": `, ""},
			{"unknown JSON field", "POST", "/v1/tenants", `{"code":"zz","name":"x","colour":"red"}`, ""},
			{"unknown enum value", "POST", "/v1/admin/accounts", `{"username":"a@x.example","email":"a@x.example","displayName":"A","roles":["KING"]}`, ""},
			{"username is not the e-mail", "POST", "/v1/admin/accounts", map[string]any{"username": "jan", "email": "jan@x.example", "displayName": "Jan", "roles": []string{"USER"}}, "username"},
			{"no roles", "POST", "/v1/admin/accounts", map[string]any{"username": "a@x.example", "email": "a@x.example", "displayName": "A"}, "roles"},
			{"empty display name", "POST", "/v1/admin/accounts", map[string]any{"username": "a@x.example", "email": "a@x.example", "roles": []string{"USER"}}, "displayName"},
			{"over-long e-mail", "POST", "/v1/admin/accounts", map[string]any{"username": long + "@x.example", "email": long + "@x.example", "displayName": "A", "roles": []string{"USER"}}, "email"},
			{"bad page token", "GET", "/v1/admin/accounts?pageToken=garbage", nil, "pageToken"},
			{"negative page size", "GET", "/v1/admin/accounts?pageSize=-1", nil, "pageSize"},
			{"bad status filter", "GET", "/v1/admin/accounts?status=SLEEPING", nil, ""},
			{"over-long filter", "GET", "/v1/admin/accounts?filter=" + long, nil, "filter"},
			{"bad account id", "GET", "/v1/admin/accounts/not-an-id", nil, "id"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				st, body := c.do(tc.method, tc.path, tc.body)
				if st != 400 {
					t.Fatalf("status %d %v, want 400", st, body)
				}
				if tc.field != "" && !slices.Contains(fieldViolations(body), tc.field) {
					t.Fatalf("fields %v, want %s named (%v)", fieldViolations(body), tc.field, body)
				}
			})
		}
	})
}

func TestTenantScoping_OtherTenantsAccountsAreInvisible(t *testing.T) {
	eachStore(t, func(t *testing.T, op client, _ string) {
		a, b := uniqueCode(t, "ta"), uniqueCode(t, "tb")
		op.do("POST", "/v1/tenants", map[string]any{"code": a, "name": "A"})
		op.do("POST", "/v1/tenants", map[string]any{"code": b, "name": "B"})
		_, body := op.asTenant(a).do("POST", "/v1/admin/accounts", map[string]any{
			"username": "secret", "email": "secret@a.example", "displayName": "S", "roles": []string{"USER"},
		})
		id := body["account"].(map[string]any)["id"].(string)
		inB := op.asTenant(b)
		if st, body := inB.do("GET", "/v1/admin/accounts/"+id, nil); st != 404 {
			t.Fatalf("tenant B reads tenant A's account: %d %v, want 404", st, body)
		}
		if _, body := inB.do("GET", "/v1/admin/accounts?filter=secret", nil); len(items(body, "accounts")) != 0 {
			t.Fatalf("tenant B lists tenant A's account: %v", body)
		}
		// The same username is free in B: uniqueness is per tenant.
		if st, body := inB.do("POST", "/v1/admin/accounts", map[string]any{
			"username": "secret", "email": "secret@a.example", "displayName": "S", "roles": []string{"USER"},
		}); st != 200 {
			t.Fatalf("same username in tenant B: %d %v", st, body)
		}
		if st, _ := op.asTenant("no-such-tenant").do("GET", "/v1/admin/accounts", nil); st != 404 {
			t.Fatalf("unknown tenant: %d, want 404", st)
		}
	})
}

// Every route of the OpenAPI document is built: called by someone it
// admits (an operator for the tenant routes, a freshly signed-in admin for
// the others, whose log-in counts as recent for step-up), with made-up ids
// and an empty body, none answers 501 — a stub answers 501 whatever it is
// given, a built route a 4xx about the input.
func TestEdge_NoRouteAnswers501(t *testing.T) {
	inst := start(t, false, testkit.NATS(t).URL, t.TempDir())
	op := client{t: t, base: inst.HTTPURL, token: inst.OperatorToken}
	code := tenantWithAdmin(t, op, nil)
	anon := client{t: t, base: inst.HTTPURL}
	admin := client{t: t, base: inst.HTTPURL, token: finishFirstLogin(t, anon, code)["accessToken"].(string)}
	_, doc := anon.do("GET", "/openapi.json", nil)
	paths, _ := doc["paths"].(map[string]any)
	if len(paths) < 30 {
		t.Fatalf("the OpenAPI document lists %d paths", len(paths))
	}
	param := regexp.MustCompile(`\{[^}]+\}`)
	n := 0
	for path, ops := range paths {
		for method := range ops.(map[string]any) {
			who := admin
			if strings.HasPrefix(path, "/v1/tenants") && !strings.HasSuffix(path, "/appearance") {
				who = op
			}
			url := param.ReplaceAllStringFunc(path, func(p string) string {
				if p == "{code}" {
					return code
				}
				return "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
			})
			var body any
			if method != "get" && method != "delete" {
				body = "{}"
			}
			if st, b := who.do(strings.ToUpper(method), url, body); st == http.StatusNotImplemented {
				t.Errorf("%s %s: 501 %v", strings.ToUpper(method), url, b)
			}
			n++
		}
	}
	t.Logf("%d operations called, none answered 501", n)
	for _, p := range []string{"/healthz", "/readyz", "/openapi.json", "/ui/mailbox/", "/ui/mailbox/messages"} {
		resp, err := http.Get(inst.HTTPURL + p)
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("GET %s: %v %v", p, resp.StatusCode, err)
		}
		resp.Body.Close()
	}
}

func TestTenantPolicy_ChangedByOperatorAndAdmin_KeepsOtherFields(t *testing.T) {
	eachStore(t, func(t *testing.T, op client, _ string) {
		code := uniqueCode(t, "pol")
		op.do("POST", "/v1/tenants", map[string]any{"code": code, "name": "Policy", "policy": map[string]any{
			"inactivityLockDays": 10, "password": map[string]any{"minLength": 8, "minSymbols": 1},
		}})
		st, body := op.do("PATCH", "/v1/tenants/"+code, map[string]any{"name": "Policy Live", "policy": map[string]any{"termsRequired": true}})
		if st != 200 {
			t.Fatalf("operator patch: %d %v", st, body)
		}
		c := op.asTenant(code)
		st, body = c.do("PATCH", "/v1/admin/tenant/policy", map[string]any{"password": map[string]any{"historyCount": 6, "maxAgeDays": 90}})
		if st != 200 {
			t.Fatalf("admin patch: %d %v", st, body)
		}
		st, body = c.do("GET", "/v1/admin/tenant", nil)
		if st != 200 {
			t.Fatalf("get tenant: %d %v", st, body)
		}
		tn := body["tenant"].(map[string]any)
		p := tn["policy"].(map[string]any)
		pw := p["password"].(map[string]any)
		if tn["name"] != "Policy Live" || p["termsRequired"] != true || p["inactivityLockDays"] != 10.0 ||
			pw["minLength"] != 8.0 || pw["minSymbols"] != 1.0 || pw["historyCount"] != 6.0 || pw["maxAgeDays"] != 90.0 {
			t.Fatalf("tenant after two patches: %v", tn)
		}
		st, body = c.do("PATCH", "/v1/admin/tenant/policy", map[string]any{"password": map[string]any{"historyCount": 99}})
		if st != 400 || !slices.Contains(fieldViolations(body), "policy.password.historyCount") {
			t.Fatalf("history 99: %d %v, want 400 naming policy.password.historyCount", st, body)
		}
		if st, body := op.do("PATCH", "/v1/tenants/no-such-tenant", map[string]any{"name": "x"}); st != 404 {
			t.Fatalf("patch unknown tenant: %d %v", st, body)
		}
	})
}
