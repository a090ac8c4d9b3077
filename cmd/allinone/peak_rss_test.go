package allinone_test

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/cmd/allinone"
	"github.com/latchkey/latchkey/libs/passhash"
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
		name    string
		queue   int
		bounded bool
	}{{"default queue, GC at GOGC=100", 0, false}, {"default queue, memory bound of latchkey run", 0, true},
		{"unbounded queue, memory bound of latchkey run", 1 << 20, true}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := allinone.Config{Edge: loopbackEdge, DataDir: t.TempDir(), NATSURL: testkit.NATS(t).URL,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
			cfg.Credential.Hash.Queue = tc.queue // Hash left zero: the default Argon2id parameters
			if tc.bounded {
				boundMemoryAsLatchkeyRun(t, cfg)
			}
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
			stopWatch := watchMemory()
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
			t.Logf("Go memory at its peak (MiB): %s", stopWatch())
			t.Logf("%s, %d cores: answers %v in %v; RSS before %s, peak during %s",
				tc.name, runtime.GOMAXPROCS(0), counts, time.Since(start).Round(time.Millisecond), before, procStatus(t, "VmHWM"))
		})
	}
}

// boundMemoryAsLatchkeyRun sets the memory limit `latchkey run` sets for
// cfg, for as long as t runs.
func boundMemoryAsLatchkeyRun(t testing.TB, cfg allinone.Config) {
	limit := passhash.BoundMemory(cfg.HashMemory(), func(string) string { return "" })
	t.Logf("memory limit %d MiB (hash pools %d MiB)", limit>>20, cfg.HashMemory()>>20)
	t.Cleanup(func() {
		debug.SetMemoryLimit(math.MaxInt64)
		debug.SetGCPercent(100)
	})
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

// watchMemory samples the Go runtime's memory classes until the returned
// function is called, which says what they were when their total peaked:
// whether a peak is Argon2 garbage, goroutine stacks or freed memory not
// yet returned to the OS.
func watchMemory() (stop func() string) {
	names := []string{"/memory/classes/total:bytes", "/memory/classes/heap/objects:bytes",
		"/memory/classes/heap/unused:bytes", "/memory/classes/heap/free:bytes",
		"/memory/classes/heap/stacks:bytes", "/memory/classes/os-stacks:bytes"}
	samples := make([]metrics.Sample, len(names))
	for i, n := range names {
		samples[i].Name = n
	}
	peak := make([]uint64, len(names))
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			metrics.Read(samples)
			if v := samples[0].Value.Uint64(); v > peak[0] {
				for i := range samples {
					peak[i] = samples[i].Value.Uint64()
				}
			}
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	return func() string {
		close(done)
		<-finished
		var b strings.Builder
		for i, n := range names {
			fmt.Fprintf(&b, "%s %d; ", strings.TrimSuffix(strings.TrimPrefix(n, "/memory/classes/"), ":bytes"), peak[i]>>20)
		}
		return b.String()
	}
}
