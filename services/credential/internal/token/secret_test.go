package token_test

import (
	"encoding/base64"
	"testing"

	"github.com/latchkey/latchkey/services/credential/internal/token"
)

func TestNewSecret(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		plain, hash := token.NewSecret()
		raw, err := base64.RawURLEncoding.DecodeString(plain)
		if err != nil || len(raw) != token.SecretBytes {
			t.Fatalf("secret %q: %d bytes, %v; want 32 bytes of base64url", plain, len(raw), err)
		}
		if seen[plain] {
			t.Fatal("a secret repeated")
		}
		seen[plain] = true
		if !token.Equal(token.HashSecret(plain), hash) {
			t.Fatal("HashSecret of the plain secret does not equal the hash NewSecret gave")
		}
		if token.Equal(token.HashSecret(plain+"x"), hash) {
			t.Fatal("another secret has the same hash")
		}
	}
}
