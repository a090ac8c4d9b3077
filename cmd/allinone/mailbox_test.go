package allinone

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/latchkey/latchkey/libs/authn"
)

// Whatever address the HTTP listener has, the mailbox answers only a peer
// on this machine or the operator token; the edge test covers a proxy here.
func TestLocalOnly_ByPeerAddressOrOperatorToken(t *testing.T) {
	const token = "an-operator-token-of-enough-length-0123456789"
	h := localOnly(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("mail")) }),
		authn.NewOperatorTokens(token))
	tests := []struct {
		name, peer, auth string
		want             int
	}{
		{"loopback v4", "127.0.0.1:5000", "", 200},
		{"loopback v6", "[::1]:5000", "", 200},
		{"another machine", "192.0.2.10:5000", "", 404},
		{"another machine, operator token", "192.0.2.10:5000", "Bearer " + token, 200},
		{"another machine, wrong token", "192.0.2.10:5000", "Bearer " + token + "x", 404},
		{"another machine, token without Bearer", "192.0.2.10:5000", token, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/ui/mailbox/", nil)
			r.RemoteAddr = tt.peer
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Errorf("%s: %d, want %d", tt.name, w.Code, tt.want)
			}
		})
	}
}
