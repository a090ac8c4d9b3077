package gateway

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/latchkey/latchkey/libs/logx"
	"github.com/latchkey/latchkey/libs/promx"
	"github.com/latchkey/latchkey/libs/requestid"
)

// restMetrics counts REST calls by route pattern, never by raw path, so that
// ids in paths do not each become a time series.
type restMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// newRESTMetrics registers the collectors on r; nil r means no metrics.
// Collectors already registered under the same names (a second gateway in
// the same process, as in tests) are shared rather than refused.
func newRESTMetrics(r prometheus.Registerer) (*restMetrics, error) {
	if r == nil {
		return nil, nil
	}
	requests, err := promx.Register(r, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "latchkey_gateway_http_requests_total",
		Help: "REST requests answered by the gateway, by method, route pattern and HTTP status.",
	}, []string{"method", "route", "code"}))
	if err != nil {
		return nil, err
	}
	duration, err := promx.Register(r, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "latchkey_gateway_http_request_duration_seconds",
		Help:    "Time to answer a REST request, by method and route pattern.",
		Buckets: prometheus.DefBuckets,
	}, []string{"method", "route"}))
	if err != nil {
		return nil, err
	}
	return &restMetrics{requests: requests, duration: duration}, nil
}

// observe is a grpc-gateway middleware: it runs after routing, when the
// route pattern is known, counts the call and writes its access line — the
// one line of the call at INFO across the suite (logx's rule), never its
// body. The lines go through sampler, so a busy edge (or one whose backend
// is down) writes at most its rate a second of each level and counts the
// rest.
func observe(m *restMetrics, log *slog.Logger, sampler *logx.Sampler) runtime.Middleware {
	return func(next runtime.HandlerFunc) runtime.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
			start := time.Now()
			rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
			next(rec, r, params)
			var route string
			if p, ok := runtime.HTTPPattern(r.Context()); ok {
				route = p.String()
			}
			nameSpan(r, route)
			m.access(log, sampler, r, route, rec, time.Since(start))
		}
	}
}

// observePages is observe for the hosted pages under /ui/, which are not
// grpc-gateway routes: the route is the pattern the pages' own mux chose
// (ServeMux sets it on the request it is given), never the path, which
// may carry a link's token.
func observePages(m *restMetrics, log *slog.Logger, sampler *logx.Sampler, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(rec, r)
		route := r.Pattern
		if _, path, ok := strings.Cut(route, " "); ok {
			route = path // "GET /ui/sign-in": the method has its own field
		}
		nameSpan(r, route)
		m.access(log, sampler, r, route, rec, time.Since(start))
	})
}

// access counts a call in the metrics (m may be nil) and writes its access
// line, as sampler allows.
func (m *restMetrics) access(log *slog.Logger, sampler *logx.Sampler, r *http.Request, route string, rec *statusRecorder, elapsed time.Duration) {
	if m != nil {
		m.requests.WithLabelValues(r.Method, route, strconv.Itoa(rec.code)).Inc()
		m.duration.WithLabelValues(r.Method, route).Observe(elapsed.Seconds())
	}
	level := httpAccessLevel(rec.code)
	if !log.Enabled(r.Context(), level) || !sampler.Allow("http", level) {
		return
	}
	attrs := make([]slog.Attr, 0, 6)
	attrs = append(attrs,
		slog.String("http.method", r.Method),
		slog.String("http.route", route),
		slog.Int("http.status", rec.code),
		slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
		slog.String(requestid.LogKey, r.Header.Get(requestid.Header)))
	if rec.hidden != nil {
		attrs = append(attrs, slog.String("error", rec.hidden.Error()))
	}
	log.LogAttrs(r.Context(), level, "http call", attrs...)
}

// httpAccessLevel is grpcx.AccessLevel for an HTTP answer (grpc-gateway's
// mapping of codes): 503 and 504 (a backend away or slow) are WARN, 501 (a
// method this version lacks) is the client's, other 5xx are ERROR, and the
// rest — a client's mistakes, limits and cancels (499) included — INFO.
func httpAccessLevel(code int) slog.Level {
	switch {
	case code == http.StatusServiceUnavailable || code == http.StatusGatewayTimeout:
		return slog.LevelWarn
	case code >= 500 && code != http.StatusNotImplemented:
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}

// statusRecorder remembers the status code written through it, and the
// error the client was not shown (restErrorHandler), for the access line.
type statusRecorder struct {
	http.ResponseWriter
	code        int
	wroteHeader bool
	hidden      error
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wroteHeader {
		s.code, s.wroteHeader = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

// Flush keeps server-streaming routes working: grpc-gateway looks for an
// http.Flusher on the writer it is given.
func (s *statusRecorder) Flush() {
	_ = http.NewResponseController(s.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
