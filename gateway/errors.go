package gateway

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
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
// status; the hidden text goes on the call's access line (observe), or to
// a line of its own when there is none.
func restErrorHandler(log *slog.Logger) runtime.ErrorHandlerFunc {
	return func(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
		var routing *runtime.HTTPStatusError
		if !errors.As(err, &routing) {
			if pub, hidden := publicStatus(err); hidden {
				if rec, ok := w.(*statusRecorder); ok {
					rec.hidden = err
				} else {
					log.WarnContext(ctx, "backend call failed", "http.path", r.URL.Path, "error", err.Error())
				}
				err = pub
			}
		}
		// Like every answer (answerPolicy): nothing personal in a shared cache.
		w.Header().Set("Cache-Control", "no-store")
		if st, ok := status.FromError(err); ok && (st.Code() == codes.Unavailable || st.Code() == codes.ResourceExhausted) {
			w.Header().Set("Retry-After", strconv.Itoa(retryAfter(st)))
		}
		runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, err)
	}
}

// Bounds of the Retry-After a 429 or 503 carries, in seconds.
const (
	defaultRetryAfter = 1
	maxRetryAfter     = 3600
)

// retryAfter is the wait, in whole seconds, that a 429 or 503 asks of the
// client (API.md: "429 and 503 carry Retry-After"): a google.rpc.RetryInfo
// delay when the service attached one, else its ErrorInfo metadata
// "retryAfterSeconds" (libs/errs' way, e.g. the busy password hasher's),
// else one second. Rounded up, so a client never comes back early.
func retryAfter(st *status.Status) int {
	secs := -1.0
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.RetryInfo:
			secs = math.Ceil(d.GetRetryDelay().AsDuration().Seconds())
		case *errdetails.ErrorInfo:
			if n, err := strconv.Atoi(d.GetMetadata()["retryAfterSeconds"]); err == nil && secs < 0 {
				secs = float64(n)
			}
		}
	}
	if secs < 1 {
		return defaultRetryAfter
	}
	return int(min(secs, maxRetryAfter))
}
