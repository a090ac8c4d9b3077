package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeBinaries stands in for the built binaries: what each requires and
// reads, as they answered when this test was written.
func fakeBinaries() map[string]*binary {
	common := []string{"LATCHKEY_TLS_CA_FILE", "LATCHKEY_TLS_CERT_FILE", "LATCHKEY_TLS_KEY_FILE", "LATCHKEY_POSTGRES_URL", "LATCHKEY_NATS_URL"}
	peers := func(names ...string) []string {
		var out []string
		for _, n := range names {
			out = append(out, "LATCHKEY_"+strings.ToUpper(n)+"_INTERNAL_ADDR")
		}
		return out
	}
	bins := map[string]*binary{
		"accountd":      {requires: append(append([]string{}, common...), peers("credential", "mfa", "recovery")...), usesNATS: true},
		"credentiald":   {requires: append(append([]string{"LATCHKEY_SIGNING_KEY_KEK"}, common...), peers("account", "mfa", "recovery")...), usesNATS: true},
		"recoveryd":     {requires: append(append([]string{}, common...), peers("account", "credential", "mfa")...), usesNATS: true},
		"mfad":          {requires: append(append([]string{"LATCHKEY_MFA_SECRET_KEYS"}, common...), peers("account", "notification", "credential")...), usesNATS: true},
		"notificationd": {requires: append(append([]string{"LATCHKEY_SMTP_URL", "LATCHKEY_LINK_BASE_URL"}, common...), peers("account")...), usesNATS: true},
		"gatewayd":      {requires: []string{"LATCHKEY_ACCOUNT_ADDR", "LATCHKEY_CREDENTIAL_ADDR", "LATCHKEY_RECOVERY_ADDR", "LATCHKEY_MFA_ADDR", "LATCHKEY_TLS_CA_FILE", "LATCHKEY_TLS_CERT_FILE", "LATCHKEY_TLS_KEY_FILE", "LATCHKEY_UI_SESSION_KEYS"}},
		"latchkey":      {},
	}
	for name, b := range bins {
		b.name = name
		b.requires = append(b.requires, deployRequires[name]...)
		b.reads = map[string]bool{}
		for _, v := range b.requires {
			b.reads[v] = true
		}
		for _, v := range []string{"LATCHKEY_LOG_LEVEL", "LATCHKEY_MANAGEMENT_ADDR", "LATCHKEY_DATA_DIR", "LATCHKEY_TRUSTED_PROXIES",
			"LATCHKEY_SMTP_FROM", "LATCHKEY_ACTIVATION_LINK_TTL", "LATCHKEY_RESET_LINK_TTL", "LATCHKEY_NOTIFICATION_INTERNAL_ADDR"} {
			b.reads[v] = true
		}
	}
	return bins
}

// copyDeploy copies ../../deploy into a temporary folder, applies edit to
// the file rel in it (old must be there), and returns the copy.
func copyDeploy(t *testing.T, rel, old, new string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "deploy")
	err := filepath.WalkDir(filepath.Join("..", "..", "deploy"), func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		r, _ := filepath.Rel(filepath.Join("..", "..", "deploy"), path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, r), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if r == rel {
			if !strings.Contains(string(data), old) {
				t.Fatalf("%s does not contain %q", rel, old)
			}
			data = []byte(strings.Replace(string(data), old, new, 1))
		}
		return os.WriteFile(filepath.Join(dst, r), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func run(deploy string) report {
	var r report
	bins := fakeBinaries()
	secrets := checkSecretTemplates(&r, filepath.Join(deploy, "k8s", "base", "secrets.example.yaml"))
	checkKustomization(&r, bins, secrets, filepath.Join(deploy, "k8s", "base"), false)
	checkKustomization(&r, bins, secrets, filepath.Join(deploy, "k8s", "overlays", "production"), true)
	checkCompose(&r, bins, deploy)
	return r
}

func TestDeployFiles_PassAsCommitted(t *testing.T) {
	if r := run(filepath.Join("..", "..", "deploy")); len(r.problems) > 0 {
		t.Fatalf("problems:\n%s", strings.Join(r.problems, "\n"))
	}
}

func TestDeployFiles_EachMistakeIsReported(t *testing.T) {
	for _, c := range []struct{ name, file, old, new, want string }{
		{"peer address missing", "k8s/base/config.yaml", "  LATCHKEY_ACCOUNT_INTERNAL_ADDR: dns:///account:7101\n", "",
			"base Deployment/credential: credentiald requires LATCHKEY_ACCOUNT_INTERNAL_ADDR"},
		{"peer address on a port no container serves", "k8s/base/config.yaml", "dns:///mfa:7104", "dns:///mfa:7105",
			"Service mfa has no port 7105"},
		{"unknown field", "k8s/base/mfa.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: true\n            readOnlyRootFS: true",
			`unknown field "readOnlyRootFS"`},
		{"root filesystem writable", "k8s/base/recovery.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false",
			"base Deployment/recovery container recovery: root filesystem not read-only"},
		{"caller kept out by a NetworkPolicy", "k8s/base/networkpolicy.yaml", "values: [account, credential, mfa, notification, recovery]", "values: [credential]",
			"base Deployment/mfa: LATCHKEY_ACCOUNT_INTERNAL_ADDR=dns:///account:7101: the NetworkPolicies keep it out of account port 7101"},
		{"service open to outside", "k8s/base/networkpolicy.yaml", "    - from:\n        - podSelector:\n            matchLabels:\n              app.kubernetes.io/name: gateway\n      ports:\n        - protocol: TCP\n          port: 7001",
			"    - ports:\n        - protocol: TCP\n          port: 7001", "base Deployment/account: reachable from outside the namespace: true"},
		{"peers hidden until ready", "k8s/base/credential.yaml", "  publishNotReadyAddresses: true\n", "",
			"base Service/credential: headless without publishNotReadyAddresses"},
		{"misspelt setting", "k8s/base/config.yaml", "LATCHKEY_LOG_LEVEL: info", "LATCHKEY_LOG_LEVL: info",
			"LATCHKEY_LOG_LEVL: no binary reads this setting"},
		{"production streams not replicated", "k8s/overlays/production/config.yaml", `LATCHKEY_NATS_REPLICAS: "3"`, `LATCHKEY_NATS_REPLICAS: "1"`,
			`production Deployment/account: LATCHKEY_NATS_REPLICAS is "1", want 3`},
		{"production without nkeys", "k8s/overlays/production/kustomization.yaml", "  - path: nats-auth.yaml\n", "",
			"production Deployment/gateway: LATCHKEY_NATS_NKEY_FILE is not set"},
		{"compose on NATS 2.10", "compose.yaml", "image: nats:2.15.2-alpine", "image: nats:2.10-alpine",
			"0 NATS nodes"},
		{"compose service not waiting for the migrations", "compose.yaml", "      migrate: {condition: service_completed_successfully}\n      nats-1", "      nats-1",
			"compose.yaml notification: does not wait for the migrations"},
		{"compose without the operator token", "latchkey.env.example", "LATCHKEY_OPERATOR_TOKEN=change-me", "",
			"compose.yaml account: accountd requires LATCHKEY_OPERATOR_TOKEN"},
		{"compose notification mailbox on the read-only root", "compose.yaml", "      - notification-data:/data", "",
			"compose.yaml notification: its data directory /data (the mailbox) is on the read-only root filesystem"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := run(copyDeploy(t, c.file, c.old, c.new))
			for _, p := range r.problems {
				if strings.Contains(p, c.want) {
					return
				}
			}
			t.Fatalf("want a problem containing %q, got:\n%s", c.want, strings.Join(r.problems, "\n"))
		})
	}
}
