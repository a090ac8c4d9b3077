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
// statement. It peeks without consuming and without waiting
// (MSG_DONTWAIT): one system call.
//
// It peeks under Control, not Read: pgx's background reader may still sit
// in a Read on an idle connection (its stop does not interrupt a read in
// progress), holding the socket's read lock until data comes, so a Read
// here would wait with it — for good, on a quiet connection. Control
// takes no lock, and a peek beside a reader disturbs nothing.
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
	err = raw.Control(func(fd uintptr) {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		// n > 0: data waiting; n == 0 with no error: end of stream;
		// EAGAIN: nothing to read, the healthy case.
		hungUp = n > 0 || (n == 0 && err == nil) || (err != nil && err != syscall.EAGAIN && err != syscall.EWOULDBLOCK)
	})
	return hungUp || err != nil
}
