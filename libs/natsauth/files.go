package natsauth

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/latchkey/latchkey/libs/natsx"
)

// ConfigFileName is the server configuration's file in a folder
// WriteFiles wrote.
const ConfigFileName = "auth.conf"

// SeedFile is the path of user's seed in a folder WriteFiles wrote: what
// its LATCHKEY_NATS_NKEY_FILE names.
func SeedFile(dir, user string) string { return filepath.Join(dir, user+".nk") }

// Written is one user WriteFiles wrote.
type Written struct {
	User
	// Path is its seed file; New says the seed was made now rather than
	// read from the file already there.
	Path string
	New  bool
}

// WriteFiles writes a seed for every user of Roles into dir (SeedFile,
// readable by its owner only), keeping the seeds already there, and the
// server configuration that admits them with their permissions in names
// (ConfigFileName). Run again with another prefix, it renews the
// configuration and keeps the seeds.
func WriteFiles(dir string, names natsx.Names) ([]Written, error) {
	if err := natsx.CheckPrefix(names.Prefix); err != nil {
		return nil, fmt.Errorf("natsauth: prefix: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	var out []Written
	var users []User
	for _, role := range Roles() {
		w := Written{Path: SeedFile(dir, role.User)}
		seed, err := os.ReadFile(w.Path)
		switch {
		case err == nil:
		case errors.Is(err, fs.ErrNotExist):
			seed, w.New = nil, true
		default:
			return nil, err
		}
		if w.User, err = NewUser(role, seed); err != nil {
			return nil, fmt.Errorf("%s: %w", w.Path, err)
		}
		if w.New {
			if err := writeFile(w.Path, append(w.Seed, '\n'), 0o600); err != nil {
				return nil, err
			}
		}
		out = append(out, w)
		users = append(users, w.User)
	}
	return out, writeFile(filepath.Join(dir, ConfigFileName), ServerConfig(names, users), 0o644)
}

func writeFile(path string, data []byte, mode os.FileMode) error {
	if err := os.WriteFile(path, data, mode); err != nil {
		return err
	}
	return os.Chmod(path, mode) // WriteFile keeps the mode of a file already there
}
