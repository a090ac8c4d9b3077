package authn

import (
	"fmt"

	"github.com/latchkey/latchkey/libs/secretfile"
)

// OperatorTokenFile is the file, in the data directory, that keeps the
// operator token generated on first start.
const OperatorTokenFile = "operator-token"

// LoadOrCreateOperatorToken returns the operator token kept in dataDir,
// generating it on first use (file mode 0600). created reports whether it
// was generated now, so the caller can say where it is.
func LoadOrCreateOperatorToken(dataDir string) (token, path string, created bool, err error) {
	token, path, created, err = secretfile.LoadOrCreate(dataDir, OperatorTokenFile, NewToken)
	if err != nil {
		return "", path, false, fmt.Errorf("authn: operator token: %w", err)
	}
	return token, path, created, nil
}
