package allinone_test

import (
	"context"
	"testing"

	"github.com/latchkey/latchkey/libs/testkit"
	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
	accountinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/account/v1"
)

// The account service's internal calls for the recovery service: an
// activation turns a pending account active and never re-enables one an
// admin disabled; releasing a lockout ends only a lock after failed
// log-ins.
func TestInternal_MarkActivatedAndReleaseLockout(t *testing.T) {
	inst := start(t, false, testkit.NATS(t).URL, t.TempDir())
	op := client{t: t, base: inst.HTTPURL, token: inst.OperatorToken}
	code := uniqueCode(t, "int")
	_, body := op.do("POST", "/v1/tenants", map[string]any{"code": code, "name": "Internal"})
	tenantID := body["tenant"].(map[string]any)["id"].(string)
	c := op.asTenant(code)
	newAccount := func(name string) string {
		t.Helper()
		st, body := c.do("POST", "/v1/admin/accounts", map[string]any{"username": name, "email": name + "@x.example", "displayName": name, "roles": []string{"USER"}})
		if st != 200 {
			t.Fatalf("create %s: %d %v", name, st, body)
		}
		return body["account"].(map[string]any)["id"].(string)
	}
	internal := accountinternalv1.NewAccountInternalServiceClient(grpcConn(t, inst.Backends.Account))
	ctx := context.Background()

	id := newAccount("pending")
	for i := 0; i < 2; i++ {
		resp, err := internal.MarkActivated(ctx, &accountinternalv1.MarkActivatedRequest{TenantId: tenantID, AccountId: id})
		if err != nil || resp.Account.Status != accountv1.AccountStatus_ACTIVE || resp.Account.ActivateTime == nil {
			t.Fatalf("activate (%d): %v %v", i+1, resp, err)
		}
	}
	disabled := newAccount("disabled")
	if st, body := c.do("POST", "/v1/admin/accounts/"+disabled+":disable", map[string]any{"reason": "left"}); st != 200 {
		t.Fatalf("disable: %d %v", st, body)
	}
	resp, err := internal.MarkActivated(ctx, &accountinternalv1.MarkActivatedRequest{TenantId: tenantID, AccountId: disabled})
	if err != nil || resp.Account.Status != accountv1.AccountStatus_DISABLED {
		t.Fatalf("activation of a disabled account: %v %v, want it to stay disabled", resp, err)
	}

	locked := newAccount("locked")
	if _, err := internal.RecordLockout(ctx, &accountinternalv1.RecordLockoutRequest{TenantId: tenantID, AccountId: locked, Reason: accountv1.LockReason_FAILED_ATTEMPTS}); err != nil {
		t.Fatal(err)
	}
	released, err := internal.ReleaseLockout(ctx, &accountinternalv1.ReleaseLockoutRequest{TenantId: tenantID, AccountId: locked})
	if err != nil || released.Account.Status != accountv1.AccountStatus_ACTIVE {
		t.Fatalf("release a failed-attempts lock: %v %v", released, err)
	}
	if st, body := c.do("POST", "/v1/admin/accounts/"+locked+":lock", map[string]any{"reason": "audit"}); st != 200 {
		t.Fatalf("admin lock: %d %v", st, body)
	}
	released, err = internal.ReleaseLockout(ctx, &accountinternalv1.ReleaseLockoutRequest{TenantId: tenantID, AccountId: locked})
	if err != nil || released.Account.Status != accountv1.AccountStatus_LOCKED {
		t.Fatalf("release of an admin lock: %v %v, want it to stay locked", released, err)
	}
	if _, err := internal.MarkActivated(ctx, &accountinternalv1.MarkActivatedRequest{TenantId: tenantID, AccountId: "bad"}); err == nil {
		t.Fatal("bad id accepted")
	}
}
