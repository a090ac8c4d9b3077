//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package dbx

import (
	"net"
	"syscall"
)

// peerHungUp reports whether an idle connection's socket has something to
// read: the end of the stream, or a message (a server shutting down sends
// FATAL 57P01 before it closes). An idle PostgreSQL connection has nothing
// to read, so either way the connection must be pinged (which reads what
// is there) before it carries a statement, rather than fail the
// statement. It peeks without consuming and without waiting (Go's sockets
// are non-blocking): one system call.
func peerHungUp(c net.Conn) bool {
	if t, ok := c.(interface{ NetConn() net.Conn }); ok { // TLS
		c = t.NetConn()
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	hungUp := false
	err = raw.Read(func(fd uintptr) bool {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK)
		// n > 0: data waiting; n == 0 with no error: end of stream;
		// EAGAIN: nothing to read, the healthy case.
		hungUp = n > 0 || (n == 0 && err == nil) || (err != nil && err != syscall.EAGAIN && err != syscall.EWOULDBLOCK)
		return true // do not wait for readability
	})
	return hungUp || err != nil
}
