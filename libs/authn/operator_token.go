package authn

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

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
	// Someone may have written their own token into the file.
	if err := CheckOperatorToken(token); err != nil {
		return "", path, false, fmt.Errorf("authn: the operator token in %s: %w; delete the file to generate a new token", path, err)
	}
	return token, path, created, nil
}

// MinOperatorTokenLength is the shortest operator token accepted: an
// operator token acts in every tenant, so it must not be guessable.
const MinOperatorTokenLength = 32

// placeholderTokens are values that example files and documentation put
// where a real token belongs, compared lower-cased and without separators.
var placeholderTokens = []string{
	"changeme", "change", "secret", "password", "passw0rd", "token", "test", "testing", "example",
	"replacewithrandomtoken", "replaceme", "operatortoken", "operator", "admin", "default", "latchkey",
	"xxx", "todo", "fixme", "placeholder", "yourtoken", "mytoken", "randomtoken", "12345678",
}

// placeholderMarkers give a placeholder away wherever they stand in a
// token ("change-me-change-me-…"). They are long enough that a random
// token contains one by chance practically never.
var placeholderMarkers = []string{"changeme", "replacewith", "placeholder", "yourtoken"}

// minTokenVariety is the fewest different characters a token may have:
// a random hex token of 32 characters has about 16, "000…0" has one.
const minTokenVariety = 8

// CheckOperatorToken refuses an operator token an attacker could guess:
// shorter than MinOperatorTokenLength, a known placeholder ("change-me",
// "REPLACE_WITH_RANDOM_TOKEN" and the like, in any case), or made of a
// few characters repeated. The error never quotes the token.
func CheckOperatorToken(token string) error {
	folded := strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return unicode.ToLower(r)
		}
		return -1
	}, token)
	for _, p := range placeholderTokens {
		if folded == p {
			return errors.New("a placeholder, not a token: generate one, e.g. with `openssl rand -hex 32`")
		}
	}
	for _, m := range placeholderMarkers {
		if strings.Contains(folded, m) {
			return errors.New("contains a placeholder: generate a token, e.g. with `openssl rand -hex 32`")
		}
	}
	if n := len([]rune(token)); n < MinOperatorTokenLength {
		return fmt.Errorf("too short (%d characters): at least %d random characters, e.g. from `openssl rand -hex 32`", n, MinOperatorTokenLength)
	}
	distinct := map[rune]bool{}
	for _, r := range token {
		distinct[r] = true
	}
	if len(distinct) < minTokenVariety {
		return errors.New("too few different characters to be random: generate one, e.g. with `openssl rand -hex 32`")
	}
	return nil
}
