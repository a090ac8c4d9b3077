package gateway

import (
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/proto" // registers the codec we fall back to
	"google.golang.org/grpc/mem"
)

// frame is one gRPC message carried through the proxy still encoded: the
// edge never decodes what it forwards, so it needs no knowledge of the
// message types and cannot alter them.
type frame struct {
	payload []byte
}

// passThroughCodec moves frames as raw bytes and everything else (health,
// reflection, served on the same server) with the ordinary proto codec.
// It keeps the name "proto" because that is the content subtype clients and
// backends speak; only the edge knows the bytes are not decoded.
type passThroughCodec struct {
	proto encoding.CodecV2
}

func newPassThroughCodec() passThroughCodec {
	c := encoding.GetCodecV2("proto")
	if c == nil {
		panic("gateway: the gRPC proto codec is not registered")
	}
	return passThroughCodec{proto: c}
}

// Marshal returns a frame's bytes as they came.
func (c passThroughCodec) Marshal(v any) (mem.BufferSlice, error) {
	if f, ok := v.(*frame); ok {
		return mem.BufferSlice{mem.SliceBuffer(f.payload)}, nil
	}
	return c.proto.Marshal(v)
}

// Unmarshal copies the bytes into a frame; gRPC frees data on return, so
// the frame must own its copy until it is sent on.
func (c passThroughCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if f, ok := v.(*frame); ok {
		f.payload = data.Materialize()
		return nil
	}
	return c.proto.Unmarshal(data, v)
}

// Name is the content subtype, see the type's comment.
func (passThroughCodec) Name() string { return "proto" }
