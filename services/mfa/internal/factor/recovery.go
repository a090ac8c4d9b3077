package factor

import (
	"crypto/rand"
	"strings"
)

// RecoveryCodeCount is how many recovery codes a set holds.
const RecoveryCodeCount = 10

// Recovery codes are 14 characters of recoveryAlphabet, shown as
// xxxx-xxxxx-xxxxx: the first LookupLen are a public lookup part, stored in
// the clear, by which a submitted code finds its one row; the whole code
// is stored hashed (Argon2id), so checking a code costs one hash, not ten.
// The ten secret characters carry 50 random bits.
const (
	LookupLen       = 4
	RecoveryCodeLen = 14
	// recoveryAlphabet is Crockford's base32 in lower case: no i, l, o, u,
	// so nothing reads as another character.
	recoveryAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"
)

// NewRecoveryCode returns a new recovery code as shown to the user and its
// normalized form (what is hashed).
func NewRecoveryCode() (shown, normalized string) {
	b := make([]byte, RecoveryCodeLen)
	_, _ = rand.Read(b) // never fails (Go 1.24+)
	for i := range b {
		b[i] = recoveryAlphabet[b[i]&31]
	}
	n := string(b)
	return n[:4] + "-" + n[4:9] + "-" + n[9:], n
}

// NewRecoveryCodeSet returns RecoveryCodeCount codes (shown and
// normalized) whose lookup parts differ from each other.
func NewRecoveryCodeSet() (shown, normalized []string) {
	seen := map[string]bool{}
	for len(shown) < RecoveryCodeCount {
		s, n := NewRecoveryCode()
		if seen[n[:LookupLen]] {
			continue
		}
		seen[n[:LookupLen]] = true
		shown, normalized = append(shown, s), append(normalized, n)
	}
	return shown, normalized
}

// ParseRecoveryCode normalizes a submitted recovery code (case, spaces and
// dashes; the letters Crockford reads as digits) and returns it with its
// lookup part; ok is false when it cannot be a recovery code.
func ParseRecoveryCode(code string) (normalized, lookup string, ok bool) {
	n := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '\t':
			return -1
		case 'o', 'O':
			return '0'
		case 'i', 'I', 'l', 'L':
			return '1'
		}
		if r >= 'A' && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, code)
	if len(n) != RecoveryCodeLen {
		return "", "", false
	}
	for i := 0; i < len(n); i++ {
		if strings.IndexByte(recoveryAlphabet, n[i]) < 0 {
			return "", "", false
		}
	}
	return n, n[:LookupLen], true
}
