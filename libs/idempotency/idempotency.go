// Package idempotency lets a client retry a create call safely: the call
// carries a key of the client's choosing (REST header Idempotency-Key,
// gRPC metadata idempotency-key), and the service that owns the create
// keeps, in the same transaction as the create, the key with a fingerprint
// of the request and the answer, for TTL. A repeat of the same request
// with the same key gets the first answer and creates nothing; the same
// key with another request is refused (ReasonKeyReused). This package is
// the part every service shares: the key read from the call and checked,
// the fingerprint, the comparison. Each owning service keeps the keys in a
// table of its own database.
package idempotency

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/errs"
)

// Names of the key in the two transports.
const (
	// Header is the REST header; the gateway passes it on as MetadataKey.
	Header = "Idempotency-Key"
	// MetadataKey is the gRPC metadata key.
	MetadataKey = "idempotency-key"
)

// TTL is how long a key and its answer are kept: a client retries within
// minutes, and a day covers a client that comes back after an outage.
const TTL = 24 * time.Hour

// MaxKeyLength bounds a key: a UUID (36) or a request id fits many times.
const MaxKeyLength = 255

// Reasons of the errors this package returns.
const (
	// ReasonKeyReused: the key was used for a different request.
	ReasonKeyReused = "IDEMPOTENCY_KEY_REUSED"
	// ReasonInvalidKey: the key is empty, too long or not printable ASCII.
	ReasonInvalidKey = "INVALID_FORMAT"
)

// Request is one create call as idempotency sees it. The zero Request
// (no key) is a call made without one: nothing is kept.
type Request struct {
	// Key is the client's key.
	Key string
	// Fingerprint is a SHA-256 of the request's type and content.
	Fingerprint string
}

// Has reports whether the call carries a key.
func (r Request) Has() bool { return r.Key != "" }

// FromCall reads the key of the call in ctx (incoming gRPC metadata) and
// fingerprints req, the request without what must not be kept even
// hashed (a temporary password: clear it in a copy first). A call without
// a key gives the zero Request; a malformed key an errs Invalid naming
// the header.
func FromCall(ctx context.Context, req proto.Message) (Request, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get(MetadataKey)
	if len(vals) == 0 {
		return Request{}, nil
	}
	if len(vals) > 1 {
		return Request{}, invalidKey("give one key, not several")
	}
	if err := ValidateKey(vals[0]); err != nil {
		return Request{}, err
	}
	body, err := proto.MarshalOptions{Deterministic: true}.Marshal(req)
	if err != nil {
		return Request{}, fmt.Errorf("idempotency: fingerprint: %w", err)
	}
	h := sha256.New()
	h.Write([]byte(req.ProtoReflect().Descriptor().FullName()))
	h.Write([]byte{0})
	h.Write(body)
	return Request{Key: vals[0], Fingerprint: hex.EncodeToString(h.Sum(nil))}, nil
}

// ValidateKey checks a key: 1 to MaxKeyLength visible ASCII characters
// (a UUID, a request id), so it is stored and logged as it is.
func ValidateKey(key string) error {
	if key == "" || len(key) > MaxKeyLength {
		return invalidKey(fmt.Sprintf("1 to %d characters", MaxKeyLength))
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; c < 0x21 || c > 0x7e {
			return invalidKey("visible ASCII characters only (letters, digits, punctuation; no spaces)")
		}
	}
	return nil
}

func invalidKey(why string) error {
	return errs.Invalid(errs.Field(Header, ReasonInvalidKey, "idempotency key: "+why))
}

// Record is what an owning service kept of the first call with a key.
type Record struct {
	Fingerprint string
	// Response is the first call's answer, encoded by the service.
	Response []byte
}

// Scope is whose keys a key is among: two callers, or one caller in two
// tenants, may pick the same key without meeting.
type Scope struct {
	TenantID string
	// Caller is the calling account's id, or a name for a caller without
	// one (e.g. "operator-token").
	Caller string
}

// ScopeOf is the scope of p's keys in tenantID: an account's own, or
// those of the operator token.
func ScopeOf(tenantID string, p *authn.Principal) Scope {
	s := Scope{TenantID: tenantID, Caller: "operator-token"}
	if p != nil && p.Kind == authn.KindAccount {
		s.Caller = p.AccountID
	}
	return s
}

// Replay compares the first call's record with r: the first answer when r
// is the same request, an errs Conflict (ReasonKeyReused, naming the
// header) when it is not.
func (r Request) Replay(first *Record) ([]byte, error) {
	if first.Fingerprint != r.Fingerprint {
		return nil, errs.Conflict(Header, ReasonKeyReused,
			"this idempotency key was used for a different request; use a new key for a new request")
	}
	if len(first.Response) == 0 {
		// Kept in the create's own transaction: cannot happen.
		return nil, fmt.Errorf("idempotency: key %q has no answer", r.Key)
	}
	return first.Response, nil
}
