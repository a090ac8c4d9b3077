package grpcx

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
)

// TargetForms names the address forms Dial accepts, for error messages
// and setting descriptions.
const TargetForms = "host:port, a comma-separated list of host:port, or dns:///name:port"

// replicasScheme is the scheme of a target listing its replicas; each
// Dial builds its own resolver for it (grpc.WithResolvers), so nothing is
// registered process-wide.
const replicasScheme = "latchkey-replicas"

// CheckTarget reports why target is not an address Dial accepts:
//
//   - "host:port": one address; a host name is looked up again every
//     DNSRefresh and every address it has gets calls (as dns:///host:port);
//   - "host:port,host:port,...": a fixed set of replicas, each entry one
//     replica (a name in it is looked up when connecting);
//   - "dns:///name:port" (or "dns://server/name:port" to ask that DNS
//     server): every address of the name, looked up every DNSRefresh.
//
// Every form is balanced round robin.
func CheckTarget(target string) error {
	_, _, err := parseTarget(target)
	return err
}

// parseTarget turns an address setting into what grpc.NewClient takes: a
// dns target, or a list's target and the resolver that hands grpc its
// addresses.
func parseTarget(target string) (string, resolver.Builder, error) {
	target = strings.TrimSpace(target)
	switch {
	case target == "":
		return "", nil, fmt.Errorf("no address; want %s", TargetForms)
	case strings.HasPrefix(target, "dns:"):
		if err := checkDNSTarget(target); err != nil {
			return "", nil, fmt.Errorf("%w; want %s", err, TargetForms)
		}
		return target, nil, nil
	case strings.Contains(target, ","):
		return parseReplicas(target)
	default:
		if err := checkHostPort(target); err != nil {
			return "", nil, fmt.Errorf("%w; want %s", err, TargetForms)
		}
		return "dns:///" + target, nil, nil
	}
}

// parseReplicas reads a comma-separated list of host:port into a resolver
// that gives grpc every one of them. grpc's manual resolver keeps the
// state it was given, so the channel gets it again when it leaves idle.
func parseReplicas(target string) (string, resolver.Builder, error) {
	var entries []string
	var addrs []resolver.Address
	seen := map[string]bool{}
	for entry := range strings.SplitSeq(target, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			return "", nil, fmt.Errorf("%q has an empty entry; want %s", target, TargetForms)
		}
		if err := checkHostPort(entry); err != nil {
			return "", nil, fmt.Errorf("%w; want %s", err, TargetForms)
		}
		if seen[entry] {
			return "", nil, fmt.Errorf("%q is listed twice", entry)
		}
		seen[entry] = true
		entries = append(entries, entry)
		host, _, _ := net.SplitHostPort(entry)
		// The TLS server name of each replica is its own host (the
		// channel's authority is the whole list).
		addrs = append(addrs, resolver.Address{Addr: entry, ServerName: host})
	}
	eps := make([]resolver.Endpoint, len(addrs))
	for i, a := range addrs {
		eps[i] = resolver.Endpoint{Addresses: []resolver.Address{a}}
	}
	r := manual.NewBuilderWithScheme(replicasScheme)
	r.InitialState(resolver.State{Addresses: addrs, Endpoints: eps})
	return replicasScheme + ":///" + strings.Join(entries, ","), r, nil
}

// checkDNSTarget accepts dns:///name:port and dns://server[:port]/name:port.
// The port is required: grpc's default (443) is never a Latchkey port.
func checkDNSTarget(target string) error {
	rest, ok := strings.CutPrefix(target, "dns://")
	if !ok {
		return fmt.Errorf("%q: a DNS target starts with dns:/// (three slashes)", target)
	}
	server, name, ok := strings.Cut(rest, "/")
	if !ok {
		return fmt.Errorf("%q: a DNS target is dns:///name:port", target)
	}
	if server != "" {
		host := server
		if h, port, err := net.SplitHostPort(server); err == nil {
			if err := checkPort(port); err != nil {
				return fmt.Errorf("%q: DNS server %q: %w", target, server, err)
			}
			host = h
		}
		if err := checkHost(host); err != nil {
			return fmt.Errorf("%q: DNS server %q: %w", target, server, err)
		}
	}
	if err := checkHostPort(name); err != nil {
		return fmt.Errorf("%q: %w", target, err)
	}
	return nil
}

// checkHostPort accepts host:port where host is an IP address (IPv6 in
// brackets) or a host name, and port a number.
func checkHostPort(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is not host:port", s)
	}
	if err := checkHost(host); err != nil {
		return fmt.Errorf("%q: %w", s, err)
	}
	if err := checkPort(port); err != nil {
		return fmt.Errorf("%q: %w", s, err)
	}
	return nil
}

func checkPort(port string) error {
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %q is not a number from 1 to 65535", port)
	}
	return nil
}

// checkHost accepts an IP address or a host name (letters, digits, '-'
// and '_' in dot-separated labels; '_' for names such as Docker's).
func checkHost(host string) error {
	if host == "" {
		return errors.New("no host")
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return nil
	}
	name := strings.TrimSuffix(host, ".")
	if len(name) > 253 {
		return fmt.Errorf("host %q is too long", host)
	}
	for label := range strings.SplitSeq(name, ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("host %q is neither an IP address nor a host name", host)
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("host %q is neither an IP address nor a host name", host)
			}
		}
	}
	return nil
}
