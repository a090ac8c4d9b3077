package gateway

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// forwardingHeaders are the headers a proxy uses to tell who the client
// was. A client can send them too, so they are believed only from a
// trusted proxy and removed otherwise.
var forwardingHeaders = []string{
	"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "Forwarded", "X-Real-Ip",
}

// trustedProxies is the set of peers whose forwarding headers are believed.
type trustedProxies []netip.Prefix

// parseTrustedProxies reads IPs ("10.0.0.1") and CIDRs ("10.0.0.0/8").
func parseTrustedProxies(entries []string) (trustedProxies, error) {
	var out trustedProxies
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if strings.Contains(e, "/") {
			p, err := netip.ParsePrefix(e)
			if err != nil {
				return nil, fmt.Errorf("gateway: trusted proxy %q: %w", e, err)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(e)
		if err != nil {
			return nil, fmt.Errorf("gateway: trusted proxy %q: %w", e, err)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// trusts reports whether addr (an IP, possibly with a port) is a trusted proxy.
func (t trustedProxies) trusts(addr string) bool {
	ip, ok := parseIP(addr)
	if !ok {
		return false
	}
	for _, p := range t {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// clientIP is the address of the party that made the request: the peer
// itself, or, when the peer is a trusted proxy, the address that proxy
// names. X-Forwarded-For is read from the right, skipping further trusted
// proxies, because the left-hand entries are whatever the client sent the
// first proxy and so prove nothing.
func (t trustedProxies) clientIP(peer string, xForwardedFor []string, xRealIP string) string {
	peerIP, ok := parseIP(peer)
	if !ok {
		return ""
	}
	if !t.trusts(peer) {
		return peerIP.String()
	}
	var hops []string
	for _, v := range xForwardedFor {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		ip, ok := parseIP(strings.TrimSpace(hops[i]))
		if !ok {
			// A garbled hop ends the chain we can follow; what came
			// before it is no better than client input.
			break
		}
		if i == 0 || !t.trusts(ip.String()) {
			return ip.String()
		}
	}
	if ip, ok := parseIP(strings.TrimSpace(xRealIP)); ok {
		return ip.String()
	}
	return peerIP.String()
}

// parseIP accepts "1.2.3.4", "1.2.3.4:5678", "::1" and "[::1]:5678".
func parseIP(s string) (netip.Addr, bool) {
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	a, err := netip.ParseAddr(strings.Trim(s, "[]"))
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

type clientIPKey struct{}

// withClientIP records the client address decided by forwardedPolicy.
func withClientIP(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, clientIPKey{}, ip)
}

// clientIPFrom returns the address recorded by forwardedPolicy, if any.
func clientIPFrom(ctx context.Context) (string, bool) {
	ip, ok := ctx.Value(clientIPKey{}).(string)
	return ip, ok && ip != ""
}

type forwardedKey struct{}

// Forwarded reports whether the request of ctx came with forwarding
// headers, trusted or not (forwardedPolicy removes untrusted ones): it was
// relayed by a proxy, so its peer address is not the client's, even when
// that peer is this machine.
func Forwarded(ctx context.Context) bool {
	f, _ := ctx.Value(forwardedKey{}).(bool)
	return f
}

// forwardedPolicy decides the client address of every HTTP request once,
// before any handler runs, and drops the forwarding headers of a peer we do
// not trust so that nothing downstream (grpc-gateway, the hosted pages) can
// be misled by them.
func (t trustedProxies) forwardedPolicy(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip := t.clientIP(r.RemoteAddr, r.Header.Values("X-Forwarded-For"), r.Header.Get("X-Real-Ip"))
		forwarded := false
		for _, h := range forwardingHeaders {
			forwarded = forwarded || r.Header.Get(h) != ""
		}
		if !t.trusts(r.RemoteAddr) {
			r = r.Clone(r.Context())
			for _, h := range forwardingHeaders {
				r.Header.Del(h)
			}
		}
		ctx := withClientIP(r.Context(), ip)
		if forwarded {
			ctx = context.WithValue(ctx, forwardedKey{}, true)
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}
