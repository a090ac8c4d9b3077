package allinone_test

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"
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

// A bulk import is a create too: a hundred copies of one import with one
// Idempotency-Key, at once, make its accounts once and all answer them
// (the ids the imported passwords log in under); a later retry answers
// them too and invites nobody again; the key with another body is a 409
// IDEMPOTENCY_KEY_REUSED.
func TestImport_RetriedWithAnIdempotencyKey_MadeOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, op client, _ string) {
		code := tenantWithAdmin(t, op, map[string]any{"usernameIsEmail": false})
		admin := op.asTenant(code).withIdempotencyKey("import-" + code)
		hash, err := bcrypt.GenerateFromPassword([]byte("Old-Bcrypt-Pass1"), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		body := map[string]any{"accounts": []map[string]any{
			{"username": "anna", "email": "anna@" + code + ".example", "displayName": "Anna", "legacyPasswordHash": string(hash)},
			{"username": "bram", "email": "bram@" + code + ".example", "displayName": "Bram"}, // invited
		}}
		// importedIDs are the account ids an import answered, in row order.
		importedIDs := func(st int, answer map[string]any) []any {
			if st != 200 || answer["importedCount"] != 2.0 {
				return nil
			}
			var out []any
			for _, r := range items(answer, "results") {
				out = append(out, r.(map[string]any)["accountId"])
			}
			return out
		}
		const n = 100
		sts := make([]int, n)
		answers := make([]map[string]any, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				sts[i], answers[i] = admin.do("POST", "/v1/admin/accounts:import", body)
			}()
		}
		close(start)
		wg.Wait()
		first := importedIDs(sts[0], answers[0])
		if len(first) != 2 || first[0] == nil || first[1] == nil {
			t.Fatalf("copy 0: %d %v, want both rows imported", sts[0], answers[0])
		}
		for i := range n {
			if got := importedIDs(sts[i], answers[i]); !slices.Equal(got, first) {
				t.Fatalf("copy %d: %d %v; copy 0 imported %v", i, sts[i], answers[i], first)
			}
		}
		st, again := admin.do("POST", "/v1/admin/accounts:import", body)
		if got := importedIDs(st, again); !slices.Equal(got, first) {
			t.Fatalf("a later retry: %d %v; first imported %v", st, again, first)
		}
		st, list := op.asTenant(code).do("GET", "/v1/admin/accounts?filter=@"+code, nil)
		if st != 200 || len(items(list, "accounts")) != 3 {
			t.Fatalf("accounts: %d %v, want the admin, anna and bram once", st, list)
		}
		// anna's legacy hash is stored under the id the copies answered.
		if st, b := login(client{t: t, base: op.base}, code, "anna", "Old-Bcrypt-Pass1"); st != 200 || b["accessToken"] == nil {
			t.Fatalf("anna's log-in with her old password: %d %v", st, b)
		}

		body["accounts"] = []map[string]any{{"username": "cees", "email": "cees@" + code + ".example", "displayName": "Cees"}}
		st, refused := admin.do("POST", "/v1/admin/accounts:import", body)
		if st != http.StatusConflict || reasonOf(refused) != "IDEMPOTENCY_KEY_REUSED" || !slices.Contains(fieldViolations(refused), "Idempotency-Key") {
			t.Fatalf("the key with another import: %d %v, want 409 IDEMPOTENCY_KEY_REUSED", st, refused)
		}
		st, refused = admin.withIdempotencyKey("has a space").do("POST", "/v1/admin/accounts:import", body)
		if st != http.StatusBadRequest || !slices.Contains(fieldViolations(refused), "Idempotency-Key") {
			t.Fatalf("a malformed key: %d %v, want 400 naming Idempotency-Key", st, refused)
		}
	})
}
