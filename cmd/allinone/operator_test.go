package allinone_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/cmd/allinone"
	"github.com/latchkey/latchkey/libs/testkit"
	account "github.com/latchkey/latchkey/services/account/server"
)

// Operator accounts replace the bootstrap token for people: the first one
// is made on first start from configuration, logs in to the platform's own
// tenant with a temporary password, and then runs operator calls and acts
// in any tenant it names.
func TestOperatorAccount_FirstStartLogInOperateActInATenant(t *testing.T) {
	dataDir := t.TempDir()
	cfg := allinone.Config{Edge: loopbackEdge, DataDir: dataDir, NATSURL: testkit.NATS(t).URL,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	cfg.Account.Operator.TenantCode = "platform"
	cfg.Account.Operator.Email = "ops@platform.example"
	cfg.Account.Operator.Username = "ops@platform.example"
	inst, err := allinone.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Stop()
	waitReady(t, inst)

	var text []byte
	for i := 0; i < 200; i++ {
		if text, err = os.ReadFile(filepath.Join(dataDir, account.OperatorPasswordFile)); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("operator password file: %v", err)
	}
	st, err := os.Stat(filepath.Join(dataDir, account.OperatorPasswordFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("password file mode %v %v, want 0600", st.Mode().Perm(), err)
	}
	_, temp, _ := strings.Cut(string(text), "temporary password: ")
	temp = strings.TrimSpace(temp)

	anon := client{t: t, base: inst.HTTPURL}
	_, body := login(anon, "platform", "ops@platform.example", temp)
	if body["nextStep"] != "CHANGE_PASSWORD" {
		t.Fatalf("operator's first log-in: %v", body)
	}
	_, body = anon.do("POST", "/v1/auth/login:continue", map[string]any{"loginTicket": body["loginTicket"], "newPassword": "Night-Shift-Keeper-9"})
	if body["accessToken"] == nil {
		t.Fatalf("operator sets a password: %v", body)
	}
	ops := client{t: t, base: inst.HTTPURL, token: body["accessToken"].(string)}
	code := tenantWithAdmin(t, ops, nil) // the operator creates a tenant
	if st, body := ops.do("GET", "/v1/tenants?filter="+code, nil); st != 200 || len(items(body, "tenants")) != 1 {
		t.Fatalf("operator lists tenants: %d %v", st, body)
	}
	if st, body := ops.asTenant(code).do("GET", "/v1/admin/accounts", nil); st != 200 || len(items(body, "accounts")) != 1 {
		t.Fatalf("operator acts in the tenant: %d %v", st, body)
	}
	// A tenant admin is no operator.
	admin := client{t: t, base: inst.HTTPURL, token: finishFirstLogin(t, anon, code)["accessToken"].(string)}
	if st, _ := admin.do("GET", "/v1/tenants", nil); st != 403 {
		t.Fatalf("tenant admin on an operator route: %d, want 403", st)
	}
	if st, body := admin.asTenant("platform").do("GET", "/v1/admin/accounts", nil); st != 200 || len(items(body, "accounts")) != 1 ||
		items(body, "accounts")[0].(map[string]any)["username"] != "admin" {
		t.Fatalf("a tenant admin naming another tenant stays in its own: %d %v", st, body)
	}

	// A restart does not make a second operator or a new password.
	inst.Stop()
	os.Remove(filepath.Join(dataDir, account.OperatorPasswordFile))
	inst, err = allinone.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Stop()
	waitReady(t, inst)
	// The bootstrap runs beside the start-up: look for a while.
	testkit.Consistently(t, 300*time.Millisecond, func() error {
		if _, err := os.Stat(filepath.Join(dataDir, account.OperatorPasswordFile)); err == nil {
			return errors.New("a restart wrote a new operator password")
		}
		return nil
	})
}
