package gateway

import (
	"context"
	"fmt"
	"net/http"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	// The error details backends attach (ErrorInfo, BadRequest) travel as
	// Any; protojson can only render them when their types are linked in,
	// and an error it cannot render becomes a 500.
	_ "google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"
)

// maxBodyBytes bounds a REST request body; it matches gRPC's default
// maximum message size, which the backends would refuse past anyway.
const maxBodyBytes = 4 << 20

// jsonMarshaler is the JSON contract of API.md: lowerCamel names, enums as
// their bare names, no unpopulated fields, and unknown fields refused so a
// misspelt field is a 400 rather than silently ignored.
func jsonMarshaler() runtime.Marshaler {
	return &runtime.HTTPBodyMarshaler{Marshaler: &runtime.JSONPb{
		MarshalOptions: protojson.MarshalOptions{
			UseProtoNames:   false,
			UseEnumNumbers:  false,
			EmitUnpopulated: false,
		},
		UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
	}}
}

// newRESTMux maps every public service to its backend connection.
func newRESTMux(ctx context.Context, conns map[backend]*grpc.ClientConn, extra ...runtime.ServeMuxOption) (*runtime.ServeMux, error) {
	opts := append([]runtime.ServeMuxOption{
		runtime.WithMarshalerOption(runtime.MIMEWildcard, jsonMarshaler()),
		runtime.WithForwardResponseOption(answerPolicy),
	}, muxHeaderOptions()...)
	mux := runtime.NewServeMux(append(opts, extra...)...)
	for _, s := range publicServices {
		if err := s.register(ctx, mux, conns[s.backend]); err != nil {
			return nil, fmt.Errorf("gateway: mapping %s: %w", s.name, err)
		}
	}
	return mux, nil
}

// limitBody keeps a client from streaming an endless body into the decoder;
// the decoder's read error then becomes a 400 like any malformed body.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		}
		next.ServeHTTP(w, r)
	})
}
