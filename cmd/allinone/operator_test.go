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
	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/config"
	"github.com/latchkey/latchkey/libs/testkit"
	account "github.com/latchkey/latchkey/services/account/server"
)

// Operator accounts replace the bootstrap token for people: the first one
// is made on first start from configuration, logs in to the platform's own
// tenant with a temporary password, and then runs operator calls and acts
// in any tenant it names.
func TestOperatorAccount_FirstStartLogInOperateActInATenant(t *testing.T) {
	inst, cfg := startWithOperator(t, "ops@platform.example", "ops@platform.example")
	dataDir := cfg.DataDir

	anon := client{t: t, base: inst.HTTPURL}
	ops := client{t: t, base: inst.HTTPURL, token: operatorFirstLogin(t, inst, dataDir, "ops@platform.example", "Night-Shift-Keeper-9")}
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
	inst, err := allinone.Start(context.Background(), cfg)
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

// startWithOperator starts the all-in-one whose first start makes the
// operator account username (e-mail email) in tenant "platform", and
// returns it with its configuration, for a restart.
func startWithOperator(t *testing.T, username, email string) (*allinone.Instance, allinone.Config) {
	t.Helper()
	natsURL := testkit.NATS(t).URL
	cfg := allinone.Config{Edge: loopbackEdge, DataDir: t.TempDir(), NATSURL: natsURL, NATSNames: testNames(t, natsURL),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	cfg.Account.Operator.TenantCode = "platform"
	cfg.Account.Operator.Username = username
	cfg.Account.Operator.Email = email
	inst, err := allinone.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inst.Stop() })
	waitReady(t, inst)
	return inst, cfg
}

// operatorFirstLogin reads the first operator's temporary password from
// dataDir (checking the file's mode), logs in as username, sets password
// and returns the access token.
func operatorFirstLogin(t *testing.T, inst *allinone.Instance, dataDir, username, password string) string {
	t.Helper()
	var (
		text []byte
		err  error
	)
	// The bootstrap retries with a backoff of up to 5 s while the
	// credential service is not up yet; on a loaded machine that can take
	// a few rounds.
	for i := 0; i < 600; i++ {
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
	_, body := login(anon, "platform", username, temp)
	if body["nextStep"] != "CHANGE_PASSWORD" {
		t.Fatalf("operator's first log-in: %v", body)
	}
	_, body = anon.do("POST", "/v1/auth/login:continue", map[string]any{"loginTicket": body["loginTicket"], "newPassword": password})
	if body["accessToken"] == nil {
		t.Fatalf("operator sets a password: %v", body)
	}
	return body["accessToken"].(string)
}

// Administrators of the platform tenant, where operator accounts live,
// can read an operator's account but change nothing of it: not its
// password, status, profile or login id. Operators can.
func TestOperatorAccount_PlatformAdminCannotTouchIt_OperatorsCan(t *testing.T) {
	inst, cfg := startWithOperator(t, "root", "root@platform.example")
	rootToken := operatorFirstLogin(t, inst, cfg.DataDir, "root", "Night-Shift-Keeper-9")
	root := client{t: t, base: inst.HTTPURL, token: rootToken}
	_, me := root.do("GET", "/v1/me", nil)
	opID, _ := accountOf(me)["id"].(string)
	if opID == "" {
		t.Fatalf("operator's /v1/me: %v", me)
	}
	// A platform administrator, made by an operator.
	byToken := client{t: t, base: inst.HTTPURL, token: inst.OperatorToken}.asTenant("platform")
	_, padmin := userWithRoles(t, byToken, "platform", "padmin", []string{"ADMIN"}, "Platform-Admin-Pass-4")
	admin := client{t: t, base: inst.HTTPURL, token: padmin["accessToken"].(string)}

	if st, b := admin.do("GET", "/v1/admin/accounts/"+opID, nil); st != 200 {
		t.Fatalf("platform admin reads the operator's account: %d %v", st, b)
	}
	changes := []struct{ method, path, body string }{
		{"POST", "/v1/admin/accounts/" + opID + ":setPassword", `{"password":"Taken-Over-Pass-77","temporary":false}`},
		{"POST", "/v1/admin/accounts/" + opID + ":lock", `{}`},
		{"POST", "/v1/admin/accounts/" + opID + ":unlock", `{}`},
		{"POST", "/v1/admin/accounts/" + opID + ":disable", `{}`},
		{"POST", "/v1/admin/accounts/" + opID + ":reactivate", `{}`},
		{"PATCH", "/v1/admin/accounts/" + opID, `{"email":"attacker@evil.example"}`},
		{"PATCH", "/v1/admin/accounts/" + opID, `{"displayName":"Taken over"}`},
		{"POST", "/v1/admin/accounts/" + opID + ":changeUsername", `{"newUsername":"taken-over"}`},
	}
	for _, r := range changes {
		if st, b := admin.do(r.method, r.path, r.body); st != 403 || reasonOf(b) != "OPERATOR_ACCOUNT" {
			t.Errorf("platform admin, %s %s: %d %v, want 403 OPERATOR_ACCOUNT", r.method, r.path, st, b)
		}
	}
	_, b := byToken.do("GET", "/v1/admin/accounts/"+opID, nil)
	if a := accountOf(b); a["status"] != "ACTIVE" || a["username"] != "root" || a["email"] != "root@platform.example" || a["displayName"] != "Operator" {
		t.Fatalf("the operator's account after the refused calls: %v", a)
	}
	if st, _ := login(client{t: t, base: inst.HTTPURL}, "platform", "root", "Taken-Over-Pass-77"); st != 401 {
		t.Fatalf("the refused password logs in: %d", st)
	}

	// Operators may: the operator token for all of it, the operator's
	// own account for its profile.
	for _, r := range changes {
		if st, b := byToken.do(r.method, r.path, r.body); st != 200 {
			t.Errorf("operator token, %s %s: %d %v, want 200", r.method, r.path, st, b)
		}
	}
	if st, _ := login(client{t: t, base: inst.HTTPURL}, "platform", "taken-over", "Taken-Over-Pass-77"); st != 200 {
		t.Fatalf("the password an operator set: %d", st)
	}
	_, tokens := login(client{t: t, base: inst.HTTPURL}, "platform", "taken-over", "Taken-Over-Pass-77")
	self := client{t: t, base: inst.HTTPURL, token: tokens["accessToken"].(string)}
	if st, b := self.do("PATCH", "/v1/admin/accounts/"+opID, `{"displayName":"Night Operator"}`); st != 200 {
		t.Fatalf("operator account changes its own profile: %d %v", st, b)
	}
}

// A guessable operator token stops the start, whether it comes from the
// environment (the message names the variable, on one line) or from a
// Config built in code.
func TestOperatorToken_PlaceholderStopsTheStart(t *testing.T) {
	for _, token := range []string{"change-me", "REPLACE_WITH_RANDOM_TOKEN", "short-random-Xq81"} {
		l := config.New(func(name string) (string, bool) { return token, name == authn.EnvOperatorToken })
		allinone.ConfigFromEnv(l)
		if err := l.Err(); err == nil || !strings.Contains(err.Error(), authn.EnvOperatorToken) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q from the environment: %v, want one line naming %s", token, err, authn.EnvOperatorToken)
		}
		cfg := allinone.Config{Edge: loopbackEdge, DataDir: t.TempDir(), NATSURL: "nats://127.0.0.1:1", OperatorToken: token}
		if inst, err := allinone.Start(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), authn.EnvOperatorToken) {
			if inst != nil {
				inst.Stop()
			}
			t.Errorf("%q in a Config: %v, want a refusal naming %s", token, err, authn.EnvOperatorToken)
		}
	}
}
