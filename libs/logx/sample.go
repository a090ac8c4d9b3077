package logx

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// EnvAccessLogRate is the environment variable of the edge's access-log
// rate (lines a second, per kind; read by gateway.EdgeFromEnv).
const EnvAccessLogRate = "LATCHKEY_ACCESS_LOG_RATE"

// DefaultAccessLogRate is the access lines a second, per kind, that the
// edge writes before it samples. Below it every call has its line (a
// deployment of a few thousand users never samples); above it, under a
// load test or a storm, the log stops growing with the traffic and the
// Prometheus counters keep the exact numbers.
const DefaultAccessLogRate = 100

// summaryWindow is how long drops are counted before they are reported.
const summaryWindow = time.Second

// Sampler bounds how many lines a second of one kind and level get
// written — a token bucket for each, perSecond tokens a second and as many
// at once, so that a storm of failures cannot crowd out the INFO lines nor
// the other way round —
// so that the log of a busy edge costs what it tells. A line it refuses
// is never lost silently: the refusals are counted, and a second after the
// first one the count is written as one line at their level ("access lines
// dropped", kind, dropped), so a reader knows how many calls the log does
// not show, and an alert on ERROR lines still fires.
//
// A nil *Sampler, or one made with perSecond ≤ 0, allows every line.
type Sampler struct {
	log       *slog.Logger
	perSecond int

	mu    sync.Mutex
	kinds map[sampleKey]*sampled
}

type sampleKey struct {
	kind  string
	level slog.Level
}

type sampled struct {
	bucket  *rate.Limiter
	dropped int
	armed   bool // a summary is due at the end of the window
}

// NewSampler returns a sampler that writes its summaries to log.
func NewSampler(log *slog.Logger, perSecond int) *Sampler {
	return &Sampler{log: log, perSecond: perSecond, kinds: map[sampleKey]*sampled{}}
}

// Allow reports whether one more line of kind at level may be written
// now, and counts it when not. Call it after the level check and before
// building the line, so a refused line costs no more than this.
func (s *Sampler) Allow(kind string, level slog.Level) bool {
	if s == nil || s.perSecond <= 0 {
		return true
	}
	key := sampleKey{kind, level}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.kinds[key]
	if k == nil {
		k = &sampled{bucket: rate.NewLimiter(rate.Limit(s.perSecond), s.perSecond)}
		s.kinds[key] = k
	}
	if k.bucket.Allow() {
		return true
	}
	k.dropped++
	if !k.armed {
		k.armed = true
		time.AfterFunc(summaryWindow, func() { s.summarize(key) })
	}
	return false
}

// summarize writes the count of key's refused lines, at their level, and
// starts a new window.
func (s *Sampler) summarize(key sampleKey) {
	s.mu.Lock()
	k := s.kinds[key]
	n := k.dropped
	k.dropped, k.armed = 0, false
	s.mu.Unlock()
	if n > 0 {
		s.log.Log(context.Background(), key.level, "access lines dropped",
			slog.String("kind", key.kind),
			slog.Int("dropped", n),
			slog.Duration("window", summaryWindow),
			slog.Int("rate_per_second", s.perSecond))
	}
}
