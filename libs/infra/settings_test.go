package infra_test

import (
	"strings"
	"testing"

	"github.com/latchkey/latchkey/libs/config"
	"github.com/latchkey/latchkey/libs/infra"
)

func TestServiceAddresses_AcceptTheDialFormsAndNameTheBadVariable(t *testing.T) {
	tests := []struct {
		value   string
		wantErr string // empty: accepted
	}{
		{"127.0.0.1:7101", ""},
		{"account-1:7101, account-2:7101", ""},
		{"dns:///account:7101", ""},
		{"", "required"},
		{"account", "not host:port"},
		{"account-1:7101,", "empty entry"},
		{"dns:///account", "not host:port"},
		{"http://account:7101", "not host:port"},
	}
	for _, tt := range tests {
		for name, read := range map[string]func(*config.Loader) string{
			"LATCHKEY_ACCOUNT_INTERNAL_ADDR": func(l *config.Loader) string { return infra.PeerAddr(l, "account") },
			"LATCHKEY_ACCOUNT_ADDR":          func(l *config.Loader) string { return infra.BackendAddr(l, "account") },
		} {
			l := config.New(func(k string) (string, bool) { return tt.value, k == name })
			if got := read(l); got != tt.value {
				t.Errorf("%s=%q read as %q", name, tt.value, got)
			}
			err := l.Err()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("%s=%q: %v", name, tt.value, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), name+": ") || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("%s=%q: error %v, want one naming the variable and saying %q", name, tt.value, err, tt.wantErr)
			}
		}
	}
}
