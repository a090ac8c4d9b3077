package gateway

import (
	"net/http"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/latchkey/latchkey/libs/requestid"
	"github.com/latchkey/latchkey/libs/tracing"
)

// withTrace starts a server span for each HTTP call, continuing the trace
// of the client's traceparent header when it sends one, so a client's own
// trace goes on through the gateway and the services (with tracing off it
// does nothing that costs). The span is named after the REST route (set
// by observe) or the mux pattern (GET /ui/, GET /openapi.json); the path
// itself is not recorded, since a path may hold an id or a token. Probes
// are left out.
func withTrace(next http.Handler) http.Handler {
	tracer := tracing.Tracer()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
			next.ServeHTTP(w, r)
			return
		}
		ctx := otel.GetTextMapPropagator().Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
			attribute.String("http.request.method", r.Method),
			attribute.String("latchkey.request_id", r.Header.Get(requestid.Header))))
		defer span.End()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		r = r.WithContext(ctx)
		next.ServeHTTP(rec, r)
		// The mux noted which of its patterns served the call; the REST
		// mux's own ("/") is no name, and its route is set already.
		if r.Pattern != "" && r.Pattern != "/" {
			name := r.Pattern
			if !strings.Contains(name, " ") {
				name = r.Method + " " + name
			}
			span.SetName(name)
		}
		span.SetAttributes(attribute.Int("http.response.status_code", rec.code))
		if rec.code >= 500 {
			span.SetStatus(codes.Error, http.StatusText(rec.code))
		}
	})
}

// nameSpan names the call's span after its REST route, once the mux knows it.
func nameSpan(r *http.Request, route string) {
	if route == "" {
		return
	}
	span := trace.SpanFromContext(r.Context())
	span.SetName(r.Method + " " + route)
	span.SetAttributes(attribute.String("http.route", route))
}
