package grpcx

import (
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
)

// Limits bound what one client can make a gRPC server hold. The zero value
// means the defaults below.
type Limits struct {
	// MaxRecvMsgBytes bounds one request message; zero means
	// DefaultMaxRecvMsgBytes.
	MaxRecvMsgBytes int
	// MaxConcurrentStreams bounds the calls in flight on one connection
	// (further ones wait for a free slot); zero means
	// DefaultMaxConcurrentStreams.
	MaxConcurrentStreams uint32
}

const (
	// DefaultMaxRecvMsgBytes is gRPC's own default, said out loud: the
	// largest request (an account import) fits, and so does the REST
	// body limit of the gateway in front.
	DefaultMaxRecvMsgBytes = 4 << 20
	// DefaultMaxConcurrentStreams suits a service's port, where the
	// gateway multiplexes every client's calls on a few connections: a
	// low bound would queue them at the transport, where the password
	// hasher's quick 503 cannot answer them. The public port sets its own.
	DefaultMaxConcurrentStreams = 1000
	// maxHeaderListBytes bounds one call's metadata (grpc-go allows 16 MiB).
	maxHeaderListBytes = 64 << 10
	// handshakeTimeout cuts a connection that has not finished its TLS
	// and HTTP/2 handshake, so a client cannot hold sockets by trickling.
	handshakeTimeout = 10 * time.Second
)

// LimitOptions are the server options that enforce l and the keepalive
// policy: a client may ping at most once a minute, and only while calls
// are in flight (more often, the server closes the connection: a ping flood
// costs the server work for nothing); connections idle for 5 minutes are
// closed, and so is a connection whose peer stopped answering pings. The
// flow-control windows are static (StreamWindowBytes, ConnWindowBytes).
func LimitOptions(l Limits) []grpc.ServerOption {
	if l.MaxRecvMsgBytes <= 0 {
		l.MaxRecvMsgBytes = DefaultMaxRecvMsgBytes
	}
	if l.MaxConcurrentStreams == 0 {
		l.MaxConcurrentStreams = DefaultMaxConcurrentStreams
	}
	return []grpc.ServerOption{
		grpc.MaxRecvMsgSize(l.MaxRecvMsgBytes),
		grpc.MaxConcurrentStreams(l.MaxConcurrentStreams),
		grpc.MaxHeaderListSize(maxHeaderListBytes),
		grpc.StaticStreamWindowSize(StreamWindowBytes),
		grpc.StaticConnWindowSize(ConnWindowBytes),
		grpc.ConnectionTimeout(handshakeTimeout),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: time.Minute, PermitWithoutStream: false}),
		// MaxConnectionAge makes clients reconnect now and then, and so
		// find replicas added since they connected: without it a client
		// keeps one connection, and a scaled-up service gets no traffic
		// from it.
		grpc.KeepaliveParams(keepalive.ServerParameters{
			MaxConnectionIdle:     5 * time.Minute,
			MaxConnectionAge:      MaxConnectionAge,
			MaxConnectionAgeGrace: 30 * time.Second,
			Time:                  2 * time.Minute,
			Timeout:               20 * time.Second,
		}),
	}
}

// Flow-control windows, the same on both ends of every connection the
// services make or take. They are static: with gRPC's default (dynamic)
// windows, both ends send a bandwidth-probing PING after nearly every
// message, which for our small calls meant an extra write and read per
// call on each side, about a tenth of the syscalls of an authenticated
// read. A static window is also a fixed bound on what a peer can make a
// stream buffer, where the dynamic one grows to 16 MiB.
const (
	// StreamWindowBytes is what one call may have in flight unread: far
	// above what our calls carry (a few KiB); the largest request, an
	// account import, goes in a few round trips.
	StreamWindowBytes = 1 << 20
	// ConnWindowBytes is what all calls of one connection may have in
	// flight unread together.
	ConnWindowBytes = 4 << 20
)
