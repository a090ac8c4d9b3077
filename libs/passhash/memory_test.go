package passhash

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestSettings_Memory_IsSlotsTimesArgonMemory(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Settings
		want int64
	}{
		{"defaults: one slot per core, 19 MiB", Settings{}, int64(runtime.GOMAXPROCS(0)) * 19 << 20},
		{"pool of 3, 64 MiB", Settings{Params: Params{Memory: 64 << 10, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, Pool: 3}, 3 * 64 << 20},
		{"shared: the shared pool's", Settings{Pool: 9, Shared: NewHasher(fastParams, 2, 0)}, 2 * 64 << 10},
	} {
		if got := tc.s.Memory(); got != tc.want {
			t.Errorf("%s: Memory() = %d, want %d", tc.name, got, tc.want)
		}
	}
}

// BoundMemory sets the limit to the pools' memory plus the headroom and
// keeps the collector's goal at 80 % of it, and leaves the runtime alone
// when the operator set GOMEMLIMIT or GOGC.
func TestBoundMemory_SetsLimitUnlessOperatorDid(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	noEnv := func(string) string { return "" }

	limit, stop := boundMemory(38<<20, noEnv)
	defer stop()
	if limit != 38<<20+MemoryHeadroom {
		t.Fatalf("BoundMemory = %d, want %d", limit, 38<<20+MemoryHeadroom)
	}
	if got := debug.SetMemoryLimit(-1); got != limit {
		t.Errorf("runtime memory limit = %d, want %d", got, limit)
	}
	// A collection between the keeper's reading and this one re-tunes
	// it a moment later (the finalizer runs on its own goroutine).
	var got, want int
	for range 100 {
		if got, want = gcPercentNow(), gcPercentFor(limit*8/10, liveHeap()); got == want {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got != want {
		t.Errorf("GOGC = %d, want %d (goal 80 %% of the limit)", got, want)
	}

	for _, env := range []string{"GOMEMLIMIT", "GOGC"} {
		debug.SetMemoryLimit(math.MaxInt64)
		debug.SetGCPercent(77)
		set := func(k string) string {
			if k == env {
				return "1GiB"
			}
			return ""
		}
		if got := BoundMemory(38<<20, set); got != 0 {
			t.Errorf("with %s set: BoundMemory = %d, want 0 (left to the operator)", env, got)
		}
		if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
			t.Errorf("with %s set: runtime memory limit changed to %d", env, got)
		}
		if got := gcPercentNow(); got != 77 {
			t.Errorf("with %s set: GOGC changed to %d", env, got)
		}
	}
}

// After every collection the keeper sets GOGC so that the goal is the
// same number of bytes whatever the live heap; stopped, it leaves GOGC be.
func TestKeepGCGoal_ResetsGOGCAfterEachCollection(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	const goal = 400 << 20
	stop := keepGCGoal(goal)
	var kept [][]byte
	for _, moreMiB := range []int{0, 24, 64} {
		kept = append(kept, make([]byte, moreMiB<<20))
		debug.SetGCPercent(7) // what the keeper must replace
		runtime.GC()
		want := gcPercentFor(goal, liveHeap())
		if got := waitForGCPercent(t, 7); got != want {
			t.Errorf("%d MiB more kept live: GOGC = %d, want %d", moreMiB, got, want)
		}
	}
	runtime.KeepAlive(kept)

	stop()
	runtime.GC() // the finalizer armed before stop runs once more, and stops
	debug.SetGCPercent(7)
	runtime.GC()
	time.Sleep(50 * time.Millisecond)
	if got := gcPercentNow(); got != 7 {
		t.Errorf("after stop: GOGC = %d, want 7 (left alone)", got)
	}
}

func TestGCPercentFor(t *testing.T) {
	for _, tc := range []struct {
		name       string
		goal, live int64
		want       int
	}{
		{"log-ins: 2 hashes of 19 MiB live and the suite's 13", 132 << 20, 51 << 20, 158},
		{"reads: no hash live", 132 << 20, 17 << 20, 676},
		{"burst: live near the goal", 132 << 20, 120 << 20, minGCPercent},
		{"live past the goal", 132 << 20, 200 << 20, minGCPercent},
		{"just started", 132 << 20, 1 << 20, maxGCPercent},
		{"nothing read", 132 << 20, 0, maxGCPercent},
	} {
		if got := gcPercentFor(tc.goal, tc.live); got != tc.want {
			t.Errorf("%s: gcPercentFor = %d, want %d", tc.name, got, tc.want)
		}
	}
}

// gcPercentNow reads GOGC from runtime/metrics: reading it by setting it
// and back could undo a value the keeper set in between.
func gcPercentNow() int { return int(readMetric("/gc/gogc:percent")) }

func liveHeap() int64 { return int64(readMetric(liveHeapMetric)) }

func readMetric(name string) uint64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// waitForGCPercent waits until GOGC is no longer old (the keeper's
// finalizer runs on its own goroutine after the collection) and returns it.
func waitForGCPercent(t *testing.T, old int) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if p := gcPercentNow(); p != old {
			return p
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("GOGC still %d 5s after a collection", old)
	return old
}

// Services sharing a hasher get that one from NewHasher, and its metrics
// keep their first registration.
func TestSettings_Shared_OneHasherOneRegistration(t *testing.T) {
	shared := NewHasher(fastParams, 2, 0)
	for _, s := range []Settings{{Shared: shared}, {Pool: 5, Shared: shared}} {
		if s.NewHasher() != shared {
			t.Fatal("NewHasher of shared settings made a new hasher")
		}
	}
	reg := prometheus.NewRegistry()
	for _, name := range []string{"all-in-one", "credential", "mfa"} {
		if err := shared.Register(reg, name); err != nil {
			t.Fatalf("Register(%s): %v", name, err)
		}
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if len(f.Metric) != 1 || f.Metric[0].Label[0].GetValue() != "all-in-one" {
			t.Errorf("%s: %v, want one series labelled all-in-one", f.GetName(), f.Metric)
		}
	}
}
