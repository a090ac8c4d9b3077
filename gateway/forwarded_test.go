package gateway

import "testing"

func TestClientIP(t *testing.T) {
	proxies, err := parseTrustedProxies([]string{"10.0.0.0/8", "192.0.2.1", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, peer string
		xff        []string
		realIP     string
		want       string
	}{
		{"untrusted peer: headers ignored", "198.51.100.7:5000", []string{"203.0.113.9"}, "203.0.113.8", "198.51.100.7"},
		{"trusted peer, one hop", "10.1.2.3:5000", []string{"203.0.113.9"}, "", "203.0.113.9"},
		{"trusted peer, client-sent left entry ignored", "10.1.2.3:5000", []string{"1.1.1.1, 203.0.113.9"}, "", "203.0.113.9"},
		{"chain of trusted proxies skipped", "10.1.2.3:5000", []string{"203.0.113.9, 192.0.2.1", "10.9.9.9"}, "", "203.0.113.9"},
		{"all hops trusted: left-most", "10.1.2.3:5000", []string{"10.4.4.4, 10.5.5.5"}, "", "10.4.4.4"},
		{"garbled hop stops the walk", "10.1.2.3:5000", []string{"203.0.113.9, nonsense"}, "", "10.1.2.3"},
		{"trusted peer, X-Real-Ip only", "192.0.2.1:80", nil, "203.0.113.5", "203.0.113.5"},
		{"trusted peer, no headers", "192.0.2.1:80", nil, "", "192.0.2.1"},
		{"ipv6 trusted peer", "[::1]:443", []string{"2001:db8::1"}, "", "2001:db8::1"},
		{"ipv4-mapped peer is the ipv4 address", "[::ffff:10.0.0.1]:443", []string{"203.0.113.9"}, "", "203.0.113.9"},
		{"unparsable peer", "pipe", nil, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := proxies.clientIP(tt.peer, tt.xff, tt.realIP); got != tt.want {
				t.Errorf("clientIP(%q, %q, %q) = %q, want %q", tt.peer, tt.xff, tt.realIP, got, tt.want)
			}
		})
	}
}

func TestParseTrustedProxies_Rejects(t *testing.T) {
	for _, bad := range []string{"10.0.0.0/33", "host.example", "10.0.0"} {
		if _, err := parseTrustedProxies([]string{bad}); err == nil {
			t.Errorf("parseTrustedProxies(%q) succeeded, want an error", bad)
		}
	}
}

func TestIncomingHeaderMatcher(t *testing.T) {
	tests := map[string]string{
		"latchkey-tenant": mdTenant, "X-REQUEST-ID": mdRequestID, "User-Agent": mdUserAgent,
		"idempotency-key":    mdIdempotencyKey,
		"Grpc-Metadata-Evil": "", "Grpc-Metadata-Authorization": "", "Cookie": "", "Accept": "", "X-Forwarded-For": "",
	}
	for header, want := range tests {
		got, ok := incomingHeaderMatcher(header)
		if ok != (want != "") || got != want {
			t.Errorf("incomingHeaderMatcher(%q) = %q, %v; want %q", header, got, ok, want)
		}
	}
}
