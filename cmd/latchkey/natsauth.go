package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/latchkey/latchkey/libs/natsauth"
	"github.com/latchkey/latchkey/libs/natsx"
)

const natsAuthUsage = `usage: latchkey nats-auth [-dir DIR] [-prefix PREFIX]

Writes NATS users for one deployment into DIR: an nkey seed for each
service and the gateway (<name>.nk, secret: give each binary its own with
LATCHKEY_NATS_NKEY_FILE) and auth.conf, the authorization block that
admits those users with permissions limited to what each publishes and
consumes under PREFIX (LATCHKEY_NATS_PREFIX). Include auth.conf in every
nats-server's configuration (include ./auth.conf). Seeds already in DIR
are kept, so running it again (e.g. with a new prefix) only renews
auth.conf; delete a seed to replace it.
`

// natsAuthCommand runs `latchkey nats-auth`.
func natsAuthCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("nats-auth", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, natsAuthUsage); fs.PrintDefaults() }
	dir := fs.String("dir", "nats-auth", "folder to write into")
	prefix := fs.String("prefix", "", "the deployment's LATCHKEY_NATS_PREFIX")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("nats-auth: unexpected argument %q", fs.Arg(0))
	}
	if err := natsx.CheckPrefix(*prefix); err != nil {
		return fmt.Errorf("nats-auth: -prefix: %w", err)
	}
	written, err := natsauth.WriteFiles(*dir, natsx.Names{Prefix: *prefix})
	if err != nil {
		return err
	}
	for _, w := range written {
		state := "kept"
		if w.New {
			state = "new"
		}
		fmt.Fprintf(stdout, "%s: %s (%s seed, public key %s)\n", w.Role.User, w.Path, state, w.PublicKey)
	}
	fmt.Fprintf(stdout, "nats-server authorization: %s\n", filepath.Join(*dir, natsauth.ConfigFileName))
	return nil
}
