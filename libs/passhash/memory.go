package passhash

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
)

// Memory is the most Argon2 memory the pool of s holds at once, in
// bytes: its slots × the memory cost (one hash per slot).
func (s Settings) Memory() int64 {
	if s.Shared != nil {
		return s.Shared.size * int64(s.Shared.params.Memory) << 10
	}
	p := s.Params
	if p == (Params{}) {
		p = DefaultParams
	}
	pool := s.Pool
	if pool <= 0 {
		pool = runtime.GOMAXPROCS(0)
	}
	return int64(pool) * int64(p.Memory) << 10
}

// MemoryHeadroom is what a hashing process may hold besides its pools'
// Argon2 memory before the garbage collector works to keep it there:
// the service's own heap, goroutine stacks, requests waiting in the hash
// queue (a waiter holds its request, not Argon2 memory) and the garbage
// of finished hashes between two collections. With the default pool of
// two slots the limit is 158 MiB; 500 concurrent log-ins then peak about
// 50 MiB above it in `latchkey bench` (the binary's code, SQLite's page
// cache and other memory outside the Go heap), where issue 14 allows 238.
const MemoryHeadroom = 120 << 20

// BoundMemory sets the Go runtime's soft memory limit of a process whose
// hashing pools hold hashMemory bytes of Argon2 memory (the sum of
// Settings.Memory of its pools) to that plus MemoryHeadroom, and keeps the
// collector's goal at 80 % of that limit (see keepGCGoal). Argon2
// allocates its memory afresh for each hash (x/crypto has no way to reuse
// it), so without a limit the garbage of finished hashes piles up between
// collections and the process's memory follows the log-in rate, not the
// pool's size.
//
// An operator's GOMEMLIMIT or GOGC wins: then nothing is changed and
// BoundMemory returns 0. Otherwise it returns the limit it set. Call it
// once, from a binary's main: the limit is the whole process's.
func BoundMemory(hashMemory int64, getenv func(string) string) int64 {
	limit, _ := boundMemory(hashMemory, getenv)
	return limit
}

// boundMemory is BoundMemory, with a stop for the goal keeper (tests).
func boundMemory(hashMemory int64, getenv func(string) string) (limit int64, stop func()) {
	if getenv("GOMEMLIMIT") != "" || getenv("GOGC") != "" {
		return 0, func() {}
	}
	limit = hashMemory + MemoryHeadroom
	debug.SetMemoryLimit(limit)
	return limit, keepGCGoal(limit * 8 / 10)
}

// keepGCGoal sets GOGC after every collection so that the next one starts
// when the heap reaches goal bytes, whatever the live heap was: GOGC
// alone makes the goal a multiple of the live heap, which swings with the
// hashes in flight (each holds 19 MiB live while it runs).
//
// The goal must stay clear of the memory limit: a heap that lives at the
// limit (GOGC 400 and the limit pacing the collector, as before) makes the
// runtime's scavenger hand freed pages back to the kernel to keep under
// it, and the next hash faults its 19 MiB back in, zeroed again by the
// kernel. On 2 cores that cost 12 % of the hash rate (85 against 97 hashes
// a second, three times the system time) and 0.05 of the log-in ratio of
// issue 14 (0.73 → 0.78 on PostgreSQL, mean of four bench runs). At 80 %
// of the limit the freed pages stay for the next hash, and the limit is
// left to bound a burst. A fixed GOGC that gave that goal during log-ins
// (146 with the headroom of then) gave authenticated reads, with no hash
// live, a third of the room between collections: GetMe ÷ echo on
// PostgreSQL went from 0.50 / 0.46 (REST / gRPC) with it to 0.56 / 0.52
// with this keeper.
//
// It stops when stop is called (tests); a binary never calls it.
func keepGCGoal(goal int64) (stop func()) {
	k := &gcGoalKeeper{goal: goal, live: []metrics.Sample{{Name: liveHeapMetric}}}
	k.tune()
	k.arm()
	return func() { k.stopped.Store(true) }
}

// liveHeapMetric is the heap the last collection marked live.
const liveHeapMetric = "/gc/heap/live:bytes"

type gcGoalKeeper struct {
	goal    int64
	live    []metrics.Sample
	stopped atomic.Bool
}

// collectionMark is an object nothing keeps: its finalizer runs after the
// collection that found it unreachable. It holds a pointer so that the
// tiny allocator, whose objects may never be finalized, does not take it.
type collectionMark struct{ _ *int }

// arm makes the next collection call tune, and arm again.
func (k *gcGoalKeeper) arm() {
	runtime.SetFinalizer(&collectionMark{}, func(*collectionMark) {
		if k.stopped.Load() {
			return
		}
		k.tune()
		k.arm()
	})
}

func (k *gcGoalKeeper) tune() {
	metrics.Read(k.live)
	if k.live[0].Value.Kind() != metrics.KindUint64 {
		return
	}
	debug.SetGCPercent(gcPercentFor(k.goal, int64(k.live[0].Value.Uint64())))
}

// gcPercentFor is the GOGC whose goal for a live heap of live bytes is
// goal bytes, kept between minGCPercent and maxGCPercent.
func gcPercentFor(goal, live int64) int {
	if live <= 0 {
		return maxGCPercent
	}
	return int(min(max(100*(goal-live)/live, minGCPercent), maxGCPercent))
}

const (
	// minGCPercent keeps a heap near its goal (a large pool with the
	// default headroom, or a burst of log-ins) from collecting after
	// every hash: the memory limit bounds it instead.
	minGCPercent = 25
	// maxGCPercent bounds the goal of a process whose live heap is tiny
	// (just started), where the division would give thousands.
	maxGCPercent = 2000
)
