package logx_test

import (
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/logx"
	"github.com/latchkey/latchkey/libs/testkit"
)

// A burst above the rate is cut to the rate, and what was cut is told, per
// kind: never lost silently.
func TestSampler_CountsWhatItDropsAndSaysSo(t *testing.T) {
	logs := &testkit.LogBuffer{}
	s := logx.NewSampler(slog.New(slog.NewJSONHandler(logs, nil)), 5)
	const burst = 50
	allowed := 0
	for range burst {
		if s.Allow("http", slog.LevelInfo) {
			allowed++
		}
	}
	// The bucket holds 5 and refills 5 a second: a slow machine may earn
	// one more during the loop.
	if allowed < 5 || allowed > 6 {
		t.Fatalf("allowed %d of a burst of %d at 5 a second", allowed, burst)
	}
	if !s.Allow("grpc", slog.LevelInfo) || !s.Allow("http", slog.LevelError) {
		t.Fatal("a burst of one kind and level used up another's lines")
	}
	var summary map[string]any
	testkit.Eventually(t, 5*time.Second, func() error {
		for line := range strings.SplitSeq(strings.TrimSpace(logs.String()), "\n") {
			if line != "" {
				return json.Unmarshal([]byte(line), &summary)
			}
		}
		return errors.New("no summary yet")
	})
	if summary["msg"] != "access lines dropped" || summary["kind"] != "http" || summary["dropped"] != float64(burst-allowed) {
		t.Fatalf("summary = %v, want %d http lines dropped", summary, burst-allowed)
	}
	if n := strings.Count(strings.TrimSpace(logs.String()), "\n"); n != 0 {
		t.Fatalf("more than one summary:\n%s", logs)
	}
}

// Zero (the setting's "no limit") and a nil sampler allow every line.
func TestSampler_ZeroRateAllowsAll(t *testing.T) {
	var none *logx.Sampler
	unlimited := logx.NewSampler(slog.Default(), 0)
	for range 1000 {
		if !none.Allow("http", slog.LevelInfo) || !unlimited.Allow("http", slog.LevelInfo) {
			t.Fatal("a line refused without a rate")
		}
	}
}
