package token_test

import (
	"testing"

	"github.com/latchkey/latchkey/services/credential/internal/token"
	"github.com/latchkey/latchkey/services/credential/internal/token/keystoretest"
)

func TestMemoryKeyStore_Conformance(t *testing.T) {
	keystoretest.Run(t, func(*testing.T) token.KeyStore { return token.NewMemoryKeyStore() })
}
