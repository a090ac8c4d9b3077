package authn

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/latchkey/latchkey/libs/natsx"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
)

// SigningKeyRotatedSubject is the subject of the event the credential
// service records when an operator rotates the access-token signing key
// (`latchkey keys rotate`): every service forgets its cached keys, and
// refuses at once the tokens of the keys the rotation retired.
const SigningKeyRotatedSubject = natsx.EventsSubjectPrefix + ".signing_key.rotated"

// The event's message, latchkey.events.v1.SigningKeyRotated, is declared
// here until it is added to proto/latchkey/events/v1/events.proto with the
// same name and field numbers:
//
//	message SigningKeyRotated {
//	  EventMeta meta = 1;
//	  // The key that signs from now on.
//	  string key_id = 2;
//	  // Keys taken out of JWKS at once; their tokens are refused.
//	  repeated string retired_key_ids = 3;
//	}
//
// Its wire form is then unchanged, so publishers and followers of either
// version understand each other.
var signingKeyRotatedDesc = func() protoreflect.MessageDescriptor {
	file := &descriptorpb.FileDescriptorProto{
		Name:       proto.String("latchkey/events/v1/signing_key_rotated_interim.proto"),
		Package:    proto.String("latchkey.events.v1"),
		Syntax:     proto.String("proto3"),
		Dependency: []string{eventsv1.File_latchkey_events_v1_events_proto.Path()},
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: proto.String("SigningKeyRotated"),
			Field: []*descriptorpb.FieldDescriptorProto{
				{Name: proto.String("meta"), JsonName: proto.String("meta"), Number: proto.Int32(1),
					Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), Type: descriptorpb.FieldDescriptorProto_TYPE_MESSAGE.Enum(),
					TypeName: proto.String(".latchkey.events.v1.EventMeta")},
				{Name: proto.String("key_id"), JsonName: proto.String("keyId"), Number: proto.Int32(2),
					Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), Type: descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum()},
				{Name: proto.String("retired_key_ids"), JsonName: proto.String("retiredKeyIds"), Number: proto.Int32(3),
					Label: descriptorpb.FieldDescriptorProto_LABEL_REPEATED.Enum(), Type: descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum()},
			},
		}},
	}
	// Resolved against the generated events, not registered globally: the
	// generated message, once it exists, takes the name.
	fd, err := protodesc.NewFile(file, protoregistry.GlobalFiles)
	if err != nil {
		panic("authn: SigningKeyRotated descriptor: " + err.Error())
	}
	return fd.Messages().Get(0)
}()

// NewSigningKeyRotated builds the event of a rotation that made keyID the
// signing key and retired the keys retired.
func NewSigningKeyRotated(meta *eventsv1.EventMeta, keyID string, retired []string) proto.Message {
	m := dynamicpb.NewMessage(signingKeyRotatedDesc)
	f := signingKeyRotatedDesc.Fields()
	m.Set(f.ByNumber(1), protoreflect.ValueOfMessage(meta.ProtoReflect()))
	m.Set(f.ByNumber(2), protoreflect.ValueOfString(keyID))
	list := m.Mutable(f.ByNumber(3)).List()
	for _, id := range retired {
		list.Append(protoreflect.ValueOfString(id))
	}
	return m
}

// SigningKeyRotated is the decoded event.
type SigningKeyRotated struct {
	EventID string
	KeyID   string
	Retired []string
}

// ParseSigningKeyRotated decodes the payload of a SigningKeyRotated event.
func ParseSigningKeyRotated(payload []byte) (SigningKeyRotated, error) {
	m := dynamicpb.NewMessage(signingKeyRotatedDesc)
	if err := proto.Unmarshal(payload, m); err != nil {
		return SigningKeyRotated{}, fmt.Errorf("authn: SigningKeyRotated: %w", err)
	}
	f := signingKeyRotatedDesc.Fields()
	ev := SigningKeyRotated{KeyID: m.Get(f.ByNumber(2)).String()}
	if meta := m.Get(f.ByNumber(1)).Message(); meta.IsValid() {
		ev.EventID = meta.Get(meta.Descriptor().Fields().ByName("event_id")).String()
	}
	list := m.Get(f.ByNumber(3)).List()
	for i := range list.Len() {
		ev.Retired = append(ev.Retired, list.Get(i).String())
	}
	return ev, nil
}

// RetiredKeys is the set of signing keys an operator retired: a verifier
// refuses their tokens even while a cached JWKS still lists them. Retired
// keys are few (one per manual retirement) and their ids never come back,
// so the set only grows, for the life of the process. It is safe for
// concurrent use.
type RetiredKeys struct {
	mu  sync.RWMutex
	ids map[string]struct{}
}

// NewRetiredKeys returns an empty set.
func NewRetiredKeys() *RetiredKeys { return &RetiredKeys{ids: map[string]struct{}{}} }

// Retire adds the key id.
func (r *RetiredKeys) Retire(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids[id] = struct{}{}
}

// Retired reports whether the key id was retired.
func (r *RetiredKeys) Retired(id string) bool {
	if r == nil {
		return false
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	_, ok := r.ids[id]
	return ok
}

// KeyInvalidator is a KeySource that can drop what it cached, so that the
// next call reads the keys again: the credential service's issuer, and
// CachedKeys.
type KeyInvalidator interface {
	InvalidateKeys()
}

// DefaultKeyRotationLookback is how far back a service starting up reads
// key rotations: longer than any verifier caches keys (DefaultKeysTTL) or
// any token lives, so a retirement it missed while down is applied too.
const DefaultKeyRotationLookback = 24 * time.Hour

// FollowKeyRotations applies the SigningKeyRotated events of the events
// stream until ctx ends: each retired key is added to retired, and keys,
// when it is a KeyInvalidator, forgets what it cached, so the new key is
// known and the retired one gone at the next verification. Like
// FollowRevocations it returns once the events already in the stream
// (opts.Lookback, default DefaultKeyRotationLookback) are applied.
func FollowKeyRotations(ctx context.Context, js jetstream.JetStream, retired *RetiredKeys, keys KeySource, opts FollowOptions) error {
	if opts.Subject == "" {
		opts.Subject = SigningKeyRotatedSubject
	}
	if opts.Lookback <= 0 {
		opts.Lookback = DefaultKeyRotationLookback
	}
	inv, _ := keys.(KeyInvalidator)
	return follow(ctx, js, opts, func(msg jetstream.Msg, log *slog.Logger) {
		ev, err := ParseSigningKeyRotated(msg.Data())
		if err != nil {
			log.Error("authn: undecodable SigningKeyRotated skipped", "err", err)
			return
		}
		for _, id := range ev.Retired {
			retired.Retire(id)
		}
		if inv != nil {
			inv.InvalidateKeys()
		}
		log.Info("authn: signing key rotated", "kid", ev.KeyID, "retired", ev.Retired)
	})
}
