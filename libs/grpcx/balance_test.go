package grpcx_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/latchkey/latchkey/libs/grpcx"
	"github.com/latchkey/latchkey/libs/mtls"
)

func TestCheckTarget(t *testing.T) {
	tests := []struct {
		target string
		ok     bool
	}{
		{"127.0.0.1:7101", true},
		{"account:7101", true},
		{"account.latchkey.svc.cluster.local.:7101", true},
		{"[::1]:7101", true},
		{"10.0.0.5:7101,10.0.0.6:7101", true},
		{" account-1:7101 , account-2:7101 ", true},
		{"dns:///account:7101", true},
		{"dns://10.0.0.10:53/account:7101", true},
		{"dns://10.0.0.10/account.latchkey:7101", true},

		{"", false},
		{"account", false},                // no port
		{"account:", false},               // empty port
		{"account:http", false},           // port not a number
		{"account:70000", false},          // port out of range
		{":7101", false},                  // no host
		{"acc ount:7101", false},          // not a host name
		{"a..b:7101", false},              // empty label
		{"a:1,", false},                   // empty entry
		{"a:1,,b:2", false},               // empty entry
		{"a:1,a:1", false},                // listed twice
		{"a:1,b", false},                  // an entry without port
		{"dns:account:7101", false},       // not dns:///
		{"dns:///account", false},         // no port
		{"dns://", false},                 // nothing
		{"dns://a b/account:7101", false}, // bad DNS server
		{"http://account:7101", false},    // another scheme
		{"unix:///run/account.sock", false},
	}
	for _, tt := range tests {
		err := grpcx.CheckTarget(tt.target)
		if (err == nil) != tt.ok {
			t.Errorf("CheckTarget(%q) = %v, want ok %v", tt.target, err, tt.ok)
		}
		conn, dialErr := grpcx.Dial(tt.target, grpcx.DialOptions{})
		if (dialErr == nil) != tt.ok {
			t.Errorf("Dial(%q) = %v, want ok %v", tt.target, dialErr, tt.ok)
		}
		if conn != nil {
			conn.Close()
		}
	}
}

// replica is a test server that counts the calls it answers; it can stop
// and start again on the same address.
type replica struct {
	addr  string
	calls atomic.Int64
	stop  func()
}

func startReplica(t *testing.T, addr string) *replica {
	t.Helper()
	r := &replica{}
	if err := r.start(t, addr); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *replica) start(t *testing.T, addr string) error {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	r.addr = lis.Addr().String()
	srv := grpcx.NewServer(grpcx.ServerOptions{Logger: slog.New(slog.DiscardHandler)})
	testpb.RegisterTestServiceServer(srv.GRPC(), &testService{
		unary: func(context.Context, *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
			r.calls.Add(1)
			return &testpb.SimpleResponse{}, nil
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, lis) }()
	var once sync.Once
	r.stop = func() { once.Do(func() { cancel(); <-served }) }
	t.Cleanup(r.stop)
	return nil
}

func call(client testpb.TestServiceClient) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := client.UnaryCall(ctx, &testpb.SimpleRequest{})
	return err
}

// within calls f every 20 ms until it returns true or bound has passed,
// and says whether it did.
func within(bound time.Duration, f func() bool) bool {
	deadline := time.Now().Add(bound)
	for {
		if f() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDial_ListOfReplicas_CallsReachEveryReplica(t *testing.T) {
	a, b := startReplica(t, "127.0.0.1:0"), startReplica(t, "127.0.0.1:0")
	client := testpb.NewTestServiceClient(dial(t, a.addr+", "+b.addr, grpcx.DialOptions{}))

	// The first calls may all go to the replica connected first.
	if !within(5*time.Second, func() bool { return call(client) == nil && a.calls.Load() > 0 && b.calls.Load() > 0 }) {
		t.Fatalf("calls did not reach both replicas: %d and %d", a.calls.Load(), b.calls.Load())
	}
	// Once both are connected, round robin takes turns.
	fromA, fromB := a.calls.Load(), b.calls.Load()
	for range 20 {
		if err := call(client); err != nil {
			t.Fatal(err)
		}
	}
	if gotA, gotB := a.calls.Load()-fromA, b.calls.Load()-fromB; gotA != 10 || gotB != 10 {
		t.Errorf("20 calls went %d and %d, want 10 each", gotA, gotB)
	}
}

// A replica refusing connections gets no calls: round robin picks only
// connected replicas, with no retry policy needed.
func TestDial_ListOfReplicas_SkipsOneRefusingConnections(t *testing.T) {
	live := startReplica(t, "127.0.0.1:0")
	client := testpb.NewTestServiceClient(dial(t, closedAddr(t)+","+live.addr, grpcx.DialOptions{}))
	for i := range 20 {
		if err := call(client); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
}

// A replica stopping (a rolling restart, SIGTERM) loses no call: the calls
// it had finish, and those that had not reached it when it said it was
// going away are retried on the other one by grpc, with no retry policy.
func TestDial_ListOfReplicas_OneStoppingLosesNoCall(t *testing.T) {
	a, b := startReplica(t, "127.0.0.1:0"), startReplica(t, "127.0.0.1:0")
	client := testpb.NewTestServiceClient(dial(t, a.addr+","+b.addr, grpcx.DialOptions{}))
	if !within(5*time.Second, func() bool { return call(client) == nil && a.calls.Load() > 0 && b.calls.Load() > 0 }) {
		t.Fatal("calls did not reach both replicas")
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var calls, failed atomic.Int64
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				calls.Add(1)
				if err := call(client); err != nil {
					failed.Add(1)
					t.Errorf("call failed while a replica stopped: %v", err)
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
	time.Sleep(200 * time.Millisecond)
	a.stop()
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()
	t.Logf("%d calls, %d failed", calls.Load(), failed.Load())
}

func TestDial_ListOfReplicas_MutualTLS(t *testing.T) {
	ca, err := mtls.NewCA("test", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	account, err := ca.Identity("account", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	credential, err := ca.Identity("credential", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	target := startInternal(t, account) + "," + startInternal(t, account)
	for range 4 {
		if err := list(t, target, grpcx.DialOptions{TLS: credential.ClientTLS("account")}); err != nil {
			t.Fatal(err)
		}
	}
}

// closedAddr is a loopback address where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	return addr
}

// When every replica is down, calls fail with UNAVAILABLE at once (no
// waiting for their deadline); when they are back on the same addresses,
// calls succeed again within two seconds (issue 13: it took 19 s with
// grpc's default backoff, which grows to 2 minutes).
func TestDial_ListOfReplicas_EveryReplicaBackAfterOutage(t *testing.T) {
	t.Parallel() // mostly waiting
	a, b := startReplica(t, "127.0.0.1:0"), startReplica(t, "127.0.0.1:0")
	client := testpb.NewTestServiceClient(dial(t, a.addr+","+b.addr, grpcx.DialOptions{}))
	if !within(5*time.Second, func() bool { return call(client) == nil && a.calls.Load() > 0 && b.calls.Load() > 0 }) {
		t.Fatal("calls did not reach both replicas")
	}

	a.stop()
	b.stop()
	// Down long enough for a growing backoff to show: grpc's default
	// would now wait several seconds between attempts.
	outage := time.Now().Add(6 * time.Second)
	for time.Now().Before(outage) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_, err := client.UnaryCall(ctx, &testpb.SimpleRequest{})
		cancel()
		if status.Code(err) != codes.Unavailable {
			t.Fatalf("call during the outage = %v, want UNAVAILABLE at once", err)
		}
		time.Sleep(200 * time.Millisecond)
	}

	for _, r := range []*replica{a, b} {
		if err := r.start(t, r.addr); err != nil {
			t.Fatalf("restarting on %s: %v", r.addr, err)
		}
	}
	// The bound, with a little room for a busy machine.
	if !within(2500*time.Millisecond, func() bool { return call(client) == nil }) {
		t.Fatal("no call succeeded within 2 s of every replica being back")
	}
}

// A DNS target is looked up again every few seconds: a replica added
// behind the name gets calls, a removed one is dropped, and when the name
// had no address (every replica gone) and has again, calls succeed soon.
func TestDial_DNSTarget_FollowsTheName(t *testing.T) {
	t.Parallel() // mostly waiting
	const name = "replicas.latchkey.test"
	dns := startDNS(t, name)
	first, second, port := twoLoopbackReplicas(t)
	dns.set("127.0.0.1")
	client := testpb.NewTestServiceClient(dial(t, "dns://"+dns.addr+"/"+name+":"+port, grpcx.DialOptions{}))

	for range 10 {
		if err := call(client); err != nil {
			t.Fatal(err)
		}
	}
	if first.calls.Load() != 10 || second.calls.Load() != 0 {
		t.Fatalf("calls went %d and %d, want all 10 to the one address the name has", first.calls.Load(), second.calls.Load())
	}

	// A replica is added.
	dns.set("127.0.0.1", "127.0.0.2")
	if !within(3*grpcx.DNSRefresh, func() bool { return call(client) == nil && second.calls.Load() > 0 }) {
		t.Fatal("the added replica got no call")
	}

	// The first one is removed (it still runs, so only the look-up can
	// drop it).
	dns.set("127.0.0.2")
	if !within(3*grpcx.DNSRefresh, func() bool {
		before := first.calls.Load()
		for range 10 {
			if call(client) != nil {
				return false
			}
		}
		return first.calls.Load() == before
	}) {
		t.Fatal("the removed replica still gets calls")
	}

	// Every replica gone from the name: calls fail with UNAVAILABLE.
	dns.set()
	if !within(3*grpcx.DNSRefresh, func() bool { return status.Code(call(client)) == codes.Unavailable }) {
		t.Fatal("calls still succeed with no address behind the name")
	}
	// Long enough for grpc's own resolver backoff to have grown past
	// the bound below.
	time.Sleep(6 * time.Second)
	dns.set("127.0.0.1")
	if !within(2500*time.Millisecond, func() bool { return call(client) == nil }) {
		t.Fatal("no call succeeded within 2 s of the name having an address again")
	}
}

// twoLoopbackReplicas starts replicas on 127.0.0.1 and 127.0.0.2 with one
// port, as a DNS name's addresses would be.
func twoLoopbackReplicas(t *testing.T) (first, second *replica, port string) {
	t.Helper()
	for range 10 {
		first = startReplica(t, "127.0.0.1:0")
		_, port, _ = net.SplitHostPort(first.addr)
		second = &replica{}
		err := second.start(t, "127.0.0.2:"+port)
		if err == nil {
			return first, second, port
		}
		first.stop()
		if !errors.Is(err, syscall.EADDRINUSE) {
			t.Fatalf("this test needs 127.0.0.2 (Linux routes all of 127/8 to loopback): %v", err)
		}
	}
	t.Fatal("found no port free on both 127.0.0.1 and 127.0.0.2")
	return nil, nil, ""
}

// testDNS is a DNS server on loopback answering A queries for one name
// with the addresses the test sets, and nothing else.
type testDNS struct {
	addr string
	name dnsmessage.Name
	mu   sync.Mutex
	ips  [][4]byte
}

func startDNS(t *testing.T, name string) *testDNS {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	d := &testDNS{addr: pc.LocalAddr().String(), name: dnsmessage.MustNewName(name + ".")}
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if answer, err := d.answer(buf[:n]); err == nil {
				pc.WriteTo(answer, from)
			}
		}
	}()
	return d
}

func (d *testDNS) set(ips ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ips = nil
	for _, ip := range ips {
		d.ips = append(d.ips, netip.MustParseAddr(ip).As4())
	}
}

func (d *testDNS) answer(query []byte) ([]byte, error) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, err
	}
	q, err := p.Question()
	if err != nil {
		return nil, err
	}
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true})
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(q); err != nil {
		return nil, err
	}
	if err := b.StartAnswers(); err != nil {
		return nil, err
	}
	if q.Type == dnsmessage.TypeA && strings.EqualFold(q.Name.String(), d.name.String()) {
		d.mu.Lock()
		ips := d.ips
		d.mu.Unlock()
		for _, ip := range ips {
			err := b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 1}, dnsmessage.AResource{A: ip})
			if err != nil {
				return nil, err
			}
		}
	}
	return b.Finish()
}
