//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package dbx

import (
	"net"
	"testing"
	"time"
)

// A connection another goroutine is reading (pgx's background reader,
// left in a Read on an idle connection) is checked at once, not after
// that read ends; a closed peer is seen as hung up.
func TestPeerHungUp_BesideABlockedReader(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	client, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	read := make(chan struct{})
	go func() { // holds the socket's read lock until data or close
		var b [1]byte
		_, _ = client.Read(b[:])
		close(read)
	}()
	time.Sleep(50 * time.Millisecond)
	done := make(chan bool, 1)
	go func() { done <- peerHungUp(client) }()
	select {
	case hungUp := <-done:
		if hungUp {
			t.Fatal("a quiet, open connection reported as hung up")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("peerHungUp waited for the other reader: it must not take the read lock")
	}
	server.Close()
	<-read
	if !peerHungUp(client) {
		t.Fatal("a connection whose peer closed is not reported as hung up")
	}
}
