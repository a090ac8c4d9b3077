package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
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
	names := natsx.Names{Prefix: *prefix}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return err
	}
	var users []natsauth.User
	for _, role := range natsauth.Roles() {
		u, created, err := loadOrCreateUser(*dir, role)
		if err != nil {
			return err
		}
		users = append(users, u)
		state := "kept"
		if created {
			state = "new"
		}
		fmt.Fprintf(stdout, "%s: %s (%s seed, public key %s)\n", role.User, filepath.Join(*dir, role.User+".nk"), state, u.PublicKey)
	}
	conf := filepath.Join(*dir, "auth.conf")
	if err := writeFile(conf, natsauth.ServerConfig(names, users), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "nats-server authorization: %s\n", conf)
	return nil
}

// loadOrCreateUser reads the seed of role's user in dir, or makes and
// writes one when there is none.
func loadOrCreateUser(dir string, role natsauth.Role) (natsauth.User, bool, error) {
	path := filepath.Join(dir, role.User+".nk")
	seed, err := os.ReadFile(path)
	switch {
	case err == nil:
		u, err := natsauth.NewUser(role, seed)
		if err != nil {
			return natsauth.User{}, false, fmt.Errorf("%s: %w", path, err)
		}
		return u, false, nil
	case !errors.Is(err, fs.ErrNotExist):
		return natsauth.User{}, false, err
	}
	u, err := natsauth.NewUser(role, nil)
	if err != nil {
		return natsauth.User{}, false, err
	}
	return u, true, writeFile(path, append(u.Seed, '\n'), 0o600)
}
