package passhash

import (
	"runtime"
	"runtime/debug"
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
// the service's own heap, goroutine stacks and requests waiting in the
// hash queue (a waiter holds its request, not Argon2 memory).
const MemoryHeadroom = 96 << 20

// gcPercentWithLimit is GOGC when the memory limit paces the collector.
// Each hash leaves its Argon2 memory (19 MiB by default) as garbage, so at
// the default GOGC of 100 a small service collects every two or three
// log-ins, and the collections took about a fifth of a log-in's CPU in
// BenchmarkLoginVsHashRate. With a high GOGC the limit decides instead,
// collecting once the garbage fills the headroom; GOGC still bounds a
// heap far below a generous limit (a large pool).
const gcPercentWithLimit = 400

// BoundMemory sets the Go runtime's soft memory limit of a process whose
// hashing pools hold hashMemory bytes of Argon2 memory (the sum of
// Settings.Memory of its pools) to that plus MemoryHeadroom, and lets the
// limit rather than GOGC pace the collector. Argon2 allocates its memory
// afresh for each hash (x/crypto has no way to reuse it), so without a
// limit the garbage of finished hashes piles up between collections and
// the process's memory follows the log-in rate, not the pool's size.
//
// An operator's GOMEMLIMIT or GOGC wins: then nothing is changed and
// BoundMemory returns 0. Otherwise it returns the limit it set. Call it
// once, from a binary's main: the limit is the whole process's.
func BoundMemory(hashMemory int64, getenv func(string) string) int64 {
	if getenv("GOMEMLIMIT") != "" || getenv("GOGC") != "" {
		return 0
	}
	limit := hashMemory + MemoryHeadroom
	debug.SetMemoryLimit(limit)
	debug.SetGCPercent(gcPercentWithLimit)
	return limit
}
