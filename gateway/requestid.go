package gateway

import (
	"context"
	"net/http"

	"google.golang.org/grpc/metadata"

	"github.com/latchkey/latchkey/libs/requestid"
)

// withRequestIDs gives every HTTP request an id: the client's X-Request-Id
// when it is short and printable, else a new one. The id replaces the
// header (which the REST mux forwards to the backends as x-request-id), goes
// on the request's context (the gateway's log lines) and back to the client
// in the X-Request-Id answer header, never in a body: two refusals that must
// look alike stay byte-identical.
func withRequestIDs(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := requestid.OrNew(r.Header.Get(requestid.Header))
		r.Header.Set(requestid.Header, id)
		w.Header().Set(requestid.Header, id)
		next.ServeHTTP(w, r.WithContext(requestid.With(r.Context(), id)))
	})
}

// grpcRequestID is the id of a proxied gRPC call, decided as for HTTP from
// the caller's x-request-id metadata.
func grpcRequestID(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	var sent string
	if v := md.Get(mdRequestID); len(v) > 0 {
		sent = v[0]
	}
	return requestid.OrNew(sent)
}
