package allinone_test

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"google.golang.org/grpc/metadata"

	"github.com/latchkey/latchkey/libs/testkit"
	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
)

// A client that lost the answer of a create sends it again with the same
// Idempotency-Key (REST) or idempotency-key metadata (gRPC) and gets the
// first answer; nothing is created twice. The same key with another
// request is a 409 IDEMPOTENCY_KEY_REUSED, a malformed key a 400 naming the
// header.
func TestCreates_RetriedWithAnIdempotencyKey_MadeOnce(t *testing.T) {
	inst := start(t, false, testkit.NATS(t).URL, t.TempDir())
	op := client{t: t, base: inst.HTTPURL, token: inst.OperatorToken}
	code := uniqueCode(t, "idem")
	tenantBody := map[string]any{"code": code, "name": "Idem",
		"firstAdmin": map[string]any{"username": "admin@idem.example", "email": "admin@idem.example", "displayName": "Admin",
			"activation": "TEMPORARY_PASSWORD", "temporaryPassword": "Temporary-Pass-2026"}}
	st1, first := op.withIdempotencyKey("tenant-"+code).do("POST", "/v1/tenants", tenantBody)
	st2, again := op.withIdempotencyKey("tenant-"+code).do("POST", "/v1/tenants", tenantBody)
	if st1 != 200 || st2 != 200 {
		t.Fatalf("create tenant, then again with its key: %d %v, %d %v", st1, first, st2, again)
	}
	id := func(body map[string]any, key string) any { return body[key].(map[string]any)["id"] }
	if id(again, "tenant") != id(first, "tenant") || id(again, "firstAdmin") != id(first, "firstAdmin") {
		t.Fatalf("the retry answered %v, the first call %v", again, first)
	}
	tenantBody["name"] = "Another name"
	st, body := op.withIdempotencyKey("tenant-"+code).do("POST", "/v1/tenants", tenantBody)
	if st != http.StatusConflict || reasonOf(body) != "IDEMPOTENCY_KEY_REUSED" || !slices.Contains(fieldViolations(body), "Idempotency-Key") {
		t.Fatalf("the key with another request: %d %v, want 409 IDEMPOTENCY_KEY_REUSED", st, body)
	}
	st, body = op.withIdempotencyKey("has a space").do("POST", "/v1/tenants", tenantBody)
	if st != http.StatusBadRequest || !slices.Contains(fieldViolations(body), "Idempotency-Key") {
		t.Fatalf("a malformed key: %d %v, want 400 naming Idempotency-Key", st, body)
	}

	// An invitation over REST, retried over gRPC with the same key.
	admin := op.asTenant(code).withIdempotencyKey("invite-jan")
	st, invited := admin.do("POST", "/v1/admin/accounts", map[string]any{
		"username": "jan@idem.example", "email": "jan@idem.example", "displayName": "Jan", "roles": []string{"USER"}})
	if st != 200 {
		t.Fatalf("invite: %d %v", st, invited)
	}
	ctx := metadata.AppendToOutgoingContext(withAuth(context.Background(), inst.OperatorToken, code), "idempotency-key", "invite-jan")
	resp, err := accountv1.NewAccountAdminServiceClient(grpcConn(t, inst.GRPCAddr)).CreateAccount(ctx, &accountv1.CreateAccountRequest{
		Username: "jan@idem.example", Email: "jan@idem.example", DisplayName: "Jan", Roles: []accountv1.Role_Value{accountv1.Role_USER}})
	if err != nil || resp.GetAccount().GetId() != id(invited, "account") {
		t.Fatalf("the retry over gRPC: %v, %v; want account %v", resp, err, id(invited, "account"))
	}
	st, list := op.asTenant(code).do("GET", "/v1/admin/accounts?filter=jan", nil)
	if st != 200 || len(items(list, "accounts")) != 1 {
		t.Fatalf("accounts named jan: %d %v, want one", st, list)
	}
}
