package allinone_test

import (
	"bufio"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/cmd/allinone"
	"github.com/latchkey/latchkey/libs/testkit"
)

// The peak resident memory of the whole suite (and this test's 500
// clients) under 500 concurrent log-ins with the default Argon2 settings,
// once with the default queue and once with one too long to ever refuse.
// A measurement to read, not a bound to assert (it depends on the machine):
//
//	LATCHKEY_MEASURE_PEAK_RSS=1 go test -run TestMeasure_PeakRSS -v ./cmd/allinone
func TestMeasure_PeakRSS_500ConcurrentLogins(t *testing.T) {
	if os.Getenv("LATCHKEY_MEASURE_PEAK_RSS") == "" {
		t.Skip("a measurement: set LATCHKEY_MEASURE_PEAK_RSS=1")
	}
	for _, tc := range []struct {
		name  string
		queue int
	}{{"default queue", 0}, {"unbounded queue", 1 << 20}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := allinone.Config{Edge: loopbackEdge, DataDir: t.TempDir(), NATSURL: testkit.NATS(t).URL,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
			cfg.Credential.Hash.Queue = tc.queue // Hash left zero: the default Argon2id parameters
			inst := startWithConfig(t, false, cfg)
			op := client{t: t, base: inst.HTTPURL, token: inst.OperatorToken}
			code := tenantWithAdmin(t, op, nil)
			finishFirstLogin(t, client{t: t, base: op.base}, code)
			runtime.GC()
			debug.FreeOSMemory()
			before := procStatus(t, "VmRSS")
			// Writing 5 to clear_refs resets the peak (Linux 4.0+).
			if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
				t.Skipf("cannot reset the peak: %v", err)
			}
			start := time.Now()
			counts := map[int]int{}
			var mu sync.Mutex
			var wg sync.WaitGroup
			for range 500 {
				wg.Go(func() {
					a := burstLogin(t, inst.HTTPURL, code)
					mu.Lock()
					counts[a.status]++
					mu.Unlock()
				})
			}
			wg.Wait()
			t.Logf("%s, %d cores: answers %v in %v; RSS before %s, peak during %s",
				tc.name, runtime.GOMAXPROCS(0), counts, time.Since(start).Round(time.Millisecond), before, procStatus(t, "VmHWM"))
		})
	}
}

// procStatus is a line's value of /proc/self/status ("123456 kB").
func procStatus(t *testing.T, key string) string {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), key+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Skipf("no %s in /proc/self/status", key)
	return ""
}
