package authn

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/libs/config"
)

func TestCheckOperatorToken(t *testing.T) {
	for _, tc := range []struct {
		name  string
		token string
		ok    bool
	}{
		{"generated", NewToken(), true},
		{"hex from openssl rand -hex 32", "3f9c2a71d04be8856e1f0a93c7d2b4e6a8f01c5d9e3b7a2604f8c1d5e9a3b7c2", true},
		{"32 random characters", "q8ZrT2mX4vLp9sKw1yNc7bHd3jFg6aE0", true},
		{"31 random characters", "q8ZrT2mX4vLp9sKw1yNc7bHd3jFg6aE", false},
		{"change-me", "change-me", false},
		{"CHANGE_ME", "CHANGE_ME", false},
		{"changeme", "ChangeMe", false},
		{"secret", "secret", false},
		{"password", "Password", false},
		{"REPLACE_WITH_RANDOM_TOKEN", "REPLACE_WITH_RANDOM_TOKEN", false},
		{"operator-token", "operator-token", false},
		{"test", "TEST", false},
		{"example", "example", false},
		{"placeholder repeated to length", "change-me-change-me-change-me-change-me", false},
		{"long but one character", strings.Repeat("0", 64), false},
		{"long but few characters", strings.Repeat("abc123", 8), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckOperatorToken(tc.token)
			if (err == nil) != tc.ok {
				t.Fatalf("CheckOperatorToken = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && strings.Contains(err.Error(), tc.token) {
				t.Errorf("the error quotes the token: %v", err)
			}
		})
	}
}

// A refused token is a configuration error naming the variable, so every
// binary reading it (each service, the all-in-one) stops at start.
func TestOperatorTokenFromEnv_RefusesWeakTokens(t *testing.T) {
	for _, token := range []string{"change-me", "short-but-not-a-placeholder", "REPLACE_WITH_RANDOM_TOKEN"} {
		l := config.New(func(name string) (string, bool) { return token, name == EnvOperatorToken })
		OperatorTokenFromEnv(l)
		err := l.Err()
		if err == nil {
			t.Fatalf("%q accepted", token)
		}
		if msg := err.Error(); !strings.Contains(msg, EnvOperatorToken) || strings.Contains(msg, "\n") || strings.Contains(msg, token) {
			t.Errorf("%q: message %q, want one line naming %s, without the token", token, msg, EnvOperatorToken)
		}
	}
	good := NewToken()
	l := config.New(func(name string) (string, bool) { return good, name == EnvOperatorToken })
	if got := OperatorTokenFromEnv(l); got != good || l.Err() != nil {
		t.Fatalf("a generated token: %v", l.Err())
	}
	l = config.New(config.Empty)
	if got := OperatorTokenFromEnv(l); got != "" || l.Err() != nil {
		t.Fatalf("unset: %q %v", got, l.Err())
	}
}

func TestLoadOrCreateOperatorToken_RefusesAWeakTokenInTheFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, OperatorTokenFile), []byte("change-me\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := LoadOrCreateOperatorToken(dir); err == nil || strings.Contains(err.Error(), "change-me") {
		t.Fatalf("err = %v, want a refusal that does not quote the token", err)
	}
}
