package allinone

import (
	"net/http"
	"net/netip"
	"strings"

	"github.com/latchkey/latchkey/gateway"
	"github.com/latchkey/latchkey/libs/authn"
)

// localOnly serves next (the built-in mailbox, which holds every
// activation and reset link) to a client on this machine, or to one that
// shows the operator token (Authorization: Bearer), and answers anyone else
// 404, as if there were no mailbox, whatever address the HTTP listener has.
// "On this machine" is the connection's own peer address, never a
// forwarded one, and a request that a proxy relayed (it came with
// forwarding headers, gateway.Forwarded) came from elsewhere even when the
// proxy runs on this machine.
func localOnly(next http.Handler, operators *authn.OperatorTokens) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isLocal(r) || hasOperatorToken(r, operators) {
			next.ServeHTTP(w, r)
			return
		}
		http.NotFound(w, r)
	})
}

func isLocal(r *http.Request) bool {
	if gateway.Forwarded(r.Context()) {
		return false
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	return err == nil && ap.Addr().Unmap().IsLoopback()
}

func hasOperatorToken(r *http.Request, operators *authn.OperatorTokens) bool {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && token != "" && operators.Match(token)
}
