package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// publicStatus hides the text of failures that gRPC made up on the gateway's
// side of a call: "connection refused" and the like name a backend's
// address, which is no business of a client. Statuses a backend sent carry
// an ErrorInfo (libs/errs always attaches one) and pass unchanged.
func publicStatus(err error) (public error, hidden bool) {
	st, ok := status.FromError(err)
	if !ok || len(st.Proto().GetDetails()) > 0 {
		return err, false
	}
	switch st.Code() {
	case codes.Unavailable:
		return status.Error(codes.Unavailable, "service unavailable"), true
	case codes.Unknown, codes.Internal, codes.DataLoss:
		return status.Error(codes.Internal, "internal error"), true
	}
	return err, false
}

// restErrorHandler is grpc-gateway's default error rendering, on a public
// status; the hidden text goes to the log.
func restErrorHandler(log *slog.Logger) runtime.ErrorHandlerFunc {
	return func(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
		var routing *runtime.HTTPStatusError
		if !errors.As(err, &routing) {
			if pub, hidden := publicStatus(err); hidden {
				log.WarnContext(ctx, "backend call failed", "http.path", r.URL.Path, "error", err.Error())
				err = pub
			}
		}
		runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, err)
	}
}
