package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/natsauth"
	"github.com/latchkey/latchkey/libs/natsx"
	"github.com/latchkey/latchkey/libs/natsx/embedded"
)

// nats-auth writes a seed per service and a server configuration that
// admits them; a second run keeps the seeds.
func TestNATSAuth_SeedsAdmittedByTheServerConfig(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nats-auth")
	var out strings.Builder
	if err := natsAuthCommand([]string{"-dir", dir, "-prefix", "acme"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "account.nk"))
	if err := natsAuthCommand([]string{"-dir", dir, "-prefix", "acme"}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "account.nk")); string(after) != string(before) || len(before) == 0 {
		t.Fatal("a second run replaced the account seed")
	}
	if st, err := os.Stat(filepath.Join(dir, "account.nk")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("seed mode: %v %v", st.Mode(), err)
	}
	ns, err := embedded.Start(embedded.Options{Port: -1, StoreDir: t.TempDir(), AuthFile: filepath.Join(dir, "auth.conf")})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Shutdown()
	names := natsx.Names{Prefix: "acme"}
	for _, role := range natsauth.Roles() {
		user := role.User
		opts, err := natsx.UserOptions(names, user, filepath.Join(dir, user+".nk"))
		if err != nil {
			t.Fatalf("%s: %v", user, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		nc, err := natsx.Connect(ctx, ns.ClientURL(), user, opts...)
		cancel()
		if err != nil {
			t.Fatalf("%s is not admitted: %v", user, err)
		}
		nc.Close()
	}
	if err := natsAuthCommand([]string{"-dir", dir, "-prefix", "acme.prod"}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "-prefix") {
		t.Errorf("a prefix with a dot: %v", err)
	}
}
