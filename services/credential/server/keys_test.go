package server

import (
	"context"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/libs/config"
	"github.com/latchkey/latchkey/libs/keyring"
)

func TestConfigFromEnv_SigningKeyKEK(t *testing.T) {
	good := keyring.Generate()
	tests := []struct {
		name    string
		value   string
		wantErr string // "" : no error about the KEK
	}{
		{name: "unset", value: "", wantErr: EnvSigningKeyKEK + ": required"},
		{name: "not 32 bytes", value: "c2hvcnQ=", wantErr: EnvSigningKeyKEK + ": keyring: key 1: 5 bytes"},
		{name: "one key", value: good},
		{name: "a ring", value: "new:" + keyring.Generate() + ",old:" + good},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := config.New(func(name string) (string, bool) {
				if name == EnvSigningKeyKEK {
					return tt.value, true
				}
				return "", false
			})
			cfg := ConfigFromEnv(l)
			var kekErrs []string
			if err := l.Err(); err != nil {
				for _, line := range strings.Split(err.Error(), "\n") {
					if strings.Contains(line, EnvSigningKeyKEK) {
						kekErrs = append(kekErrs, line)
					}
				}
			}
			if tt.wantErr == "" {
				if len(kekErrs) > 0 || cfg.KEK == nil {
					t.Fatalf("errors %q, KEK %v; want the ring read", kekErrs, cfg.KEK)
				}
				return
			}
			if len(kekErrs) != 1 || !strings.HasPrefix(kekErrs[0], tt.wantErr) {
				t.Fatalf("errors %q; want one line starting %q", kekErrs, tt.wantErr)
			}
		})
	}
}

func TestRun_RefusesToStartWithoutKEK(t *testing.T) {
	err := Run(context.Background(), Config{})
	if err == nil || !strings.HasPrefix(err.Error(), EnvSigningKeyKEK+": required") {
		t.Fatalf("Run without a KEK: %v; want an error naming %s", err, EnvSigningKeyKEK)
	}
}
