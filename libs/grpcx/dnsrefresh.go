package grpcx

import (
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/dns"
)

// DNSRefresh is how often the name of a DNS target is looked up again, so
// that a replica added behind the name gets calls within seconds and a
// removed one is dropped. grpc's own DNS resolver looks a name up only
// when a connection is lost (and at most every 30 s), so without this a
// new replica waited for the server's MaxConnectionAge. 5 s is the
// time-to-live Kubernetes' DNS gives Service records: asking more often
// would mostly read its cache. It is a constant, not a setting: the cost
// is one DNS query per connection every 5 s, and no operator has a reason
// to trade that against how soon a new replica is used.
const DNSRefresh = 5 * time.Second

// dnsRetryUnusable is how often a name is looked up while its last answer
// was unusable (no address: every replica of a headless Service gone), so
// that replicas coming back after an outage get calls within a second or
// two rather than after grpc's resolver backoff, which grows to 2 minutes.
const dnsRetryUnusable = time.Second

func init() {
	// The floor between two look-ups of one name; ResolveNow calls in
	// between are put off until it has passed. resolver/dns says to set
	// it before any channel exists, and it is process-wide, hence init.
	dns.SetMinResolutionInterval(dnsRetryUnusable)
}

// refreshingDNS is grpc's DNS resolver, asked to look the name up again
// every DNSRefresh. Dial installs it for the "dns" scheme of its own
// channels (grpc.WithResolvers), so other gRPC clients in the process
// keep grpc's default.
type refreshingDNS struct{}

func (refreshingDNS) Scheme() string { return "dns" }

func (refreshingDNS) Build(target resolver.Target, cc resolver.ClientConn, opts resolver.BuildOptions) (resolver.Resolver, error) {
	// An IP address is never looked up again: grpc's resolver answers it
	// once and ignores ResolveNow.
	if host, _, err := net.SplitHostPort(target.Endpoint()); err == nil {
		if _, err := netip.ParseAddr(host); err == nil {
			return dns.NewBuilder().Build(target, cc, opts)
		}
	}
	r := &refreshingResolver{ClientConn: cc, stop: make(chan struct{}), done: make(chan struct{})}
	inner, err := dns.NewBuilder().Build(target, r, opts)
	if err != nil {
		return nil, err
	}
	r.inner = inner
	go r.refresh()
	return r, nil
}

// refreshingResolver sits between grpc's DNS resolver and the channel:
// it passes everything through and asks for a new look-up now and then.
type refreshingResolver struct {
	resolver.ClientConn // the channel
	inner               resolver.Resolver
	unusable            atomic.Bool
	stop, done          chan struct{}
}

// UpdateState passes the addresses to the channel. When the channel
// refuses them (no address at all) grpc's resolver would retry with a
// backoff of up to 2 minutes; refresh asks again every second instead, so
// the error is kept from it.
func (r *refreshingResolver) UpdateState(s resolver.State) error {
	err := r.ClientConn.UpdateState(s)
	r.unusable.Store(err != nil)
	return nil
}

func (r *refreshingResolver) refresh() {
	defer close(r.done)
	for {
		wait := DNSRefresh
		if r.unusable.Load() {
			wait = dnsRetryUnusable
		}
		t := time.NewTimer(wait)
		select {
		case <-r.stop:
			t.Stop()
			return
		case <-t.C:
		}
		r.inner.ResolveNow(resolver.ResolveNowOptions{})
	}
}

// ResolveNow passes the channel's request on (it asks when a connection
// is lost).
func (r *refreshingResolver) ResolveNow(o resolver.ResolveNowOptions) { r.inner.ResolveNow(o) }

// Close stops the refreshing and grpc's resolver.
func (r *refreshingResolver) Close() {
	close(r.stop)
	<-r.done
	r.inner.Close()
}
