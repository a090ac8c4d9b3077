package authn

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// OperatorTokenFile is the file, in the data directory, that keeps the
// operator token generated on first start.
const OperatorTokenFile = "operator-token"

// LoadOrCreateOperatorToken returns the operator token kept in dataDir,
// generating it on first use (file mode 0600). created reports whether it
// was generated now, so the caller can say where it is.
func LoadOrCreateOperatorToken(dataDir string) (token, path string, created bool, err error) {
	path = filepath.Join(dataDir, OperatorTokenFile)
	b, err := os.ReadFile(path)
	if err == nil {
		token = strings.TrimSpace(string(b))
		if token == "" {
			return "", path, false, fmt.Errorf("authn: %s is empty; delete it to generate a new token", path)
		}
		return token, path, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", path, false, fmt.Errorf("authn: read operator token: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", path, false, fmt.Errorf("authn: data directory: %w", err)
	}
	token = NewToken()
	// O_EXCL: two processes starting together do not overwrite each
	// other's token.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return LoadOrCreateOperatorToken(dataDir)
		}
		return "", path, false, fmt.Errorf("authn: write operator token: %w", err)
	}
	if _, err := f.WriteString(token + "\n"); err != nil {
		f.Close()
		return "", path, false, fmt.Errorf("authn: write operator token: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", path, false, fmt.Errorf("authn: write operator token: %w", err)
	}
	return token, path, true, nil
}
