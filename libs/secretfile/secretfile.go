// Package secretfile keeps a secret the all-in-one binary generates on
// first start (the operator token, the signing keys' key-encryption key)
// in a file of its data directory that only its owner can read.
package secretfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// LoadOrCreate returns the secret kept in dir/name, writing generate()
// there (mode 0600, the directory 0700) when the file does not exist.
// created reports whether it was written now, so the caller can say where
// it is. Surrounding white space is trimmed; an empty file is an error
// rather than a reason to generate, since a secret replaced silently would
// lock out whatever the old one protected. Errors name the file, never the
// secret.
func LoadOrCreate(dir, name string, generate func() string) (secret, path string, created bool, err error) {
	path = filepath.Join(dir, name)
	b, err := os.ReadFile(path)
	if err == nil {
		secret = strings.TrimSpace(string(b))
		if secret == "" {
			return "", path, false, fmt.Errorf("%s is empty; delete it to generate a new one", path)
		}
		return secret, path, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", path, false, fmt.Errorf("read %s: %w", path, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", path, false, fmt.Errorf("data directory: %w", err)
	}
	secret = generate()
	// O_EXCL: two processes starting together do not overwrite each
	// other's secret; the loser reads the winner's.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return LoadOrCreate(dir, name, generate)
		}
		return "", path, false, fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.WriteString(secret + "\n"); err != nil {
		f.Close()
		return "", path, false, fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return "", path, false, fmt.Errorf("write %s: %w", path, err)
	}
	return secret, path, true, nil
}
