package gateway

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/latchkey/latchkey/libs/logx"
	"github.com/latchkey/latchkey/libs/requestid"
)

// BenchmarkAccessLog is the cost of a REST call's access line (observe,
// metrics off) over a handler that does nothing: written (what every call
// paid before sampling), refused by the sampler above its rate, and off by
// level.
func BenchmarkAccessLog(b *testing.B) {
	for _, bc := range []struct {
		name  string
		level slog.Level
		rate  int
	}{
		{"written", slog.LevelInfo, 0},
		{"sampled_out", slog.LevelInfo, 1},
		{"level_off", slog.LevelWarn, 0},
	} {
		b.Run(bc.name, func(b *testing.B) {
			log := slog.New(logx.RequestIDs(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: bc.level})))
			h := observe(nil, log, logx.NewSampler(log, bc.rate))(func(w http.ResponseWriter, r *http.Request, _ map[string]string) {
				w.WriteHeader(http.StatusOK)
			})
			r := httptest.NewRequest("GET", "/v1/me", nil)
			r.Header.Set(requestid.Header, "01jd7q6m2v9x8k3t5r4w0yzabc")
			r = r.WithContext(requestid.With(r.Context(), "01jd7q6m2v9x8k3t5r4w0yzabc"))
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				h(w, r, nil)
			}
		})
	}
}
