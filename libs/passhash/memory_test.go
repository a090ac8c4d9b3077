package passhash

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"

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

// BoundMemory sets the limit to the pools' memory plus the headroom, and
// leaves the runtime alone when the operator set GOMEMLIMIT or GOGC.
func TestBoundMemory_SetsLimitUnlessOperatorDid(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	noEnv := func(string) string { return "" }

	if got := BoundMemory(38<<20, noEnv); got != 38<<20+MemoryHeadroom {
		t.Fatalf("BoundMemory = %d, want %d", got, 38<<20+MemoryHeadroom)
	}
	if got := debug.SetMemoryLimit(-1); got != 38<<20+MemoryHeadroom {
		t.Errorf("runtime memory limit = %d, want %d", got, 38<<20+MemoryHeadroom)
	}
	if got, want := debug.SetGCPercent(100), gcPercent(38<<20, 38<<20+MemoryHeadroom); got != want {
		t.Errorf("GOGC = %d, want %d", got, want)
	}

	for _, env := range []string{"GOMEMLIMIT", "GOGC"} {
		debug.SetMemoryLimit(math.MaxInt64)
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
	}
}

// The collector's goal for a heap of the pools' Argon2 memory and a
// service's own is 80 % of the limit, clear of the scavenger's line (95 %),
// and a large pool still gets a quarter of its heap before collecting.
func TestGCPercent_GoalIsFourFifthsOfTheLimit(t *testing.T) {
	for _, tc := range []struct {
		name       string
		hashMemory int64
		want       int
	}{
		{"default pool of 2 × 19 MiB", 38 << 20, 145},
		{"one slot", 19 << 20, 235},
		{"16 slots: the floor", 16 * 19 << 20, minGCPercent},
	} {
		limit := tc.hashMemory + MemoryHeadroom
		got := gcPercent(tc.hashMemory, limit)
		if got != tc.want {
			t.Errorf("%s: gcPercent = %d, want %d", tc.name, got, tc.want)
		}
		live := tc.hashMemory + serviceHeap
		if goal := live * int64(100+got) / 100; goal > limit*95/100 {
			t.Errorf("%s: goal %d MiB is past 95 %% of the limit %d MiB", tc.name, goal>>20, limit>>20)
		}
	}
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
