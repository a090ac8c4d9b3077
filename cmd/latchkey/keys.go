package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/latchkey/latchkey/cmd/allinone"
)

const keysUsage = `usage:
  latchkey keys rotate [--retire-current]

Makes a new access-token signing key current at once. With
--retire-current the key that signed until now is deleted: it leaves JWKS
and its tokens are refused within a second by every running service (do
this when the key may have leaked; its users refresh their tokens).
Without it, the old key stays published until its tokens expire.

The command works on the credential database directly
(LATCHKEY_POSTGRES_URL, or the SQLite file in LATCHKEY_DATA_DIR), with the
signing keys' KEK (LATCHKEY_SIGNING_KEY_KEK, or <data dir>/signing-key-kek
of the all-in-one), and tells the running services through NATS
(LATCHKEY_NATS_URL, or the all-in-one's embedded NATS).
`

// keysCommand runs `latchkey keys …`.
func keysCommand(ctx context.Context, cfg allinone.Config, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "rotate" {
		fmt.Fprint(stderr, keysUsage)
		return errors.New("keys: expected rotate")
	}
	fs := flag.NewFlagSet("keys rotate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	retire := fs.Bool("retire-current", false, "delete the key that signed until now: out of JWKS, its tokens refused at once")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprint(stderr, keysUsage)
		return fmt.Errorf("keys rotate: unexpected %q", fs.Arg(0))
	}
	r, err := allinone.RotateSigningKey(ctx, cfg, *retire)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "signing key %s is current\n", r.Current)
	for _, id := range r.Retired {
		fmt.Fprintf(stdout, "signing key %s retired: out of JWKS, its tokens refused\n", id)
	}
	if !r.Published {
		fmt.Fprintf(stdout, "the running services were not told directly (NATS: %v); their outbox relays tell them within seconds\n", r.PublishErr)
	}
	return nil
}
