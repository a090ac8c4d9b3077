package main

import (
	"bytes"
	"strings"
	"testing"

	credential "github.com/latchkey/latchkey/services/credential/server"
)

func TestKeysRotate_CLI(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("LATCHKEY_DATA_DIR", dir)
	t.Setenv("LATCHKEY_POSTGRES_URL", "")
	t.Setenv("LATCHKEY_SIGNING_KEY_KEK", "")
	// Nothing listens there: the CLI must not tell someone else's suite.
	t.Setenv("LATCHKEY_EMBEDDED_NATS_ADDR", "127.0.0.1:1")
	t.Setenv("LATCHKEY_NATS_URL", "")

	var out, errOut bytes.Buffer
	if err := run([]string{"keys"}, &out, &errOut); err == nil || !strings.Contains(errOut.String(), "latchkey keys rotate [--retire-current]") {
		t.Fatalf("keys without a subcommand: %v, usage %q", err, errOut.String())
	}
	// Before `latchkey run` made a KEK, there is nothing to seal with.
	err := run([]string{"keys", "rotate"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), credential.EnvSigningKeyKEK) {
		t.Fatalf("rotate without a KEK: %v; want an error naming %s", err, credential.EnvSigningKeyKEK)
	}

	if _, _, _, err := credential.LoadOrCreateKEK(dir); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"keys", "rotate"}, {"keys", "rotate", "--retire-current"}} {
		out.Reset()
		if err := run(args, &out, &errOut); err != nil {
			t.Fatalf("%v: %v (%s)", args, err, errOut.String())
		}
		if !strings.Contains(out.String(), "is current") || !strings.Contains(out.String(), "outbox relays tell them") {
			t.Fatalf("%v printed %q", args, out.String())
		}
	}
	if !strings.Contains(out.String(), "retired") {
		t.Fatalf("--retire-current printed %q; want the retired key", out.String())
	}
}
