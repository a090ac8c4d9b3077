// Package requestid carries the id of one client request through every
// service it crosses: the gateway gives each request one (the client's own
// when it is usable), passes it on in gRPC metadata, and every log line of
// that request names it, so an operator can follow one request across
// services from the id a client reports (the X-Request-Id answer header).
package requestid

import (
	"context"
	"crypto/rand"
)

const (
	// Header is the HTTP header that carries the id, both ways.
	Header = "X-Request-Id"
	// MetadataKey is the gRPC metadata key that carries it.
	MetadataKey = "x-request-id"
	// LogKey is the attribute that names it on a log line.
	LogKey = "request_id"
	// MaxLen bounds a client-sent id: it is logged on every line of the
	// request and echoed back, so a long one would bloat both.
	MaxLen = 64
)

// Valid reports whether a client-sent id may be kept: 1 to MaxLen
// characters of visible ASCII (no spaces, no control characters that could
// forge log lines or split headers).
func Valid(id string) bool {
	if id == "" || len(id) > MaxLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

// New returns a fresh id: 26 characters of Crockford base32 (128 random
// bits), URL- and log-safe.
func New() string {
	const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	out := make([]byte, 26)
	var acc uint32
	bits, j := 0, 0
	for _, c := range b {
		acc = acc<<8 | uint32(c)
		bits += 8
		for bits >= 5 {
			bits -= 5
			out[j] = alphabet[(acc>>bits)&31]
			j++
		}
	}
	if bits > 0 {
		out[j] = alphabet[(acc<<(5-bits))&31]
	}
	return string(out)
}

// OrNew returns id when Valid, else a fresh one.
func OrNew(id string) string {
	if Valid(id) {
		return id
	}
	return New()
}

type key struct{}

// With returns ctx carrying id.
func With(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, key{}, id)
}

// From returns the id ctx carries, if any.
func From(ctx context.Context) (string, bool) {
	id, ok := ctx.Value(key{}).(string)
	return id, ok && id != ""
}
