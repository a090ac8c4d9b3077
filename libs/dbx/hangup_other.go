//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package dbx

import "net"

// peerHungUp cannot peek at a socket here; connections are then pinged
// only after a second idle (pgx's default).
func peerHungUp(net.Conn) bool { return false }
