package grpcx_test

import (
	"bytes"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/net/http2"
	testpb "google.golang.org/grpc/interop/grpc_testing"

	"github.com/latchkey/latchkey/libs/grpcx"
)

// pingCounter is a TCP relay between a client and a server speaking
// plaintext HTTP/2 that counts the PING frames (not their acks) each side
// sends.
type pingCounter struct {
	addr                   string
	fromClient, fromServer atomic.Int64
	wg                     sync.WaitGroup
	lis                    net.Listener
}

func relayCountingPings(t *testing.T, target string) *pingCounter {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &pingCounter{addr: lis.Addr().String(), lis: lis}
	p.wg.Go(func() {
		for {
			in, err := lis.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				return
			}
			p.wg.Go(func() { p.pipe(out, in, []byte(http2.ClientPreface), &p.fromClient) })
			p.wg.Go(func() { p.pipe(in, out, nil, &p.fromServer) })
		}
	})
	t.Cleanup(func() { lis.Close(); p.wg.Wait() })
	return p
}

// pipe copies src to dst and reads the copy as HTTP/2 frames after the
// preface, counting PINGs in pings.
func (p *pingCounter) pipe(dst, src net.Conn, preface []byte, pings *atomic.Int64) {
	defer dst.Close()
	defer src.Close()
	pr, pw := io.Pipe()
	p.wg.Go(func() {
		if _, err := io.ReadFull(pr, make([]byte, len(preface))); err != nil {
			return
		}
		fr := http2.NewFramer(io.Discard, pr)
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				pr.CloseWithError(err)
				return
			}
			if ping, ok := f.(*http2.PingFrame); ok && !ping.IsAck() {
				pings.Add(1)
			}
		}
	})
	_, _ = io.Copy(io.MultiWriter(dst, pw), src)
	pw.Close()
}

// With gRPC's default dynamic windows each end probes the bandwidth with a
// PING after nearly every message it receives: for our small calls an
// extra write and read on each side per call. The services' windows are
// static, so a run of calls sends no PING at all (keepalive pings come
// after minutes of quiet, not here).
func TestServerAndDial_CallsSendNoPings(t *testing.T) {
	r := start(t, grpcx.ServerOptions{}, &testService{})
	relay := relayCountingPings(t, r.addr)
	client := testpb.NewTestServiceClient(dial(t, relay.addr, grpcx.DialOptions{}))
	body := bytes.Repeat([]byte("x"), 2<<10)
	for range 50 {
		if _, err := client.UnaryCall(callCtx(t), &testpb.SimpleRequest{Payload: &testpb.Payload{Body: body}}); err != nil {
			t.Fatal(err)
		}
	}
	if c, s := relay.fromClient.Load(), relay.fromServer.Load(); c != 0 || s != 0 {
		t.Errorf("50 calls sent %d PINGs from the client and %d from the server, want none", c, s)
	}
}
