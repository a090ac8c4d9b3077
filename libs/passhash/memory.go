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
// the service's own heap, goroutine stacks, requests waiting in the hash
// queue (a waiter holds its request, not Argon2 memory) and the garbage
// of finished hashes between two collections. With the default pool of
// two slots the limit is 166 MiB, and 500 concurrent log-ins peaked at
// 198–217 MiB resident in `latchkey bench` (issue 14 allows 238).
const MemoryHeadroom = 128 << 20

// serviceHeap is about what a service keeps live besides its hashes'
// Argon2 memory: the all-in-one suite, every service in one process,
// held 17 MiB after a collection with no hash running.
const serviceHeap = 16 << 20

// BoundMemory sets the Go runtime's soft memory limit of a process whose
// hashing pools hold hashMemory bytes of Argon2 memory (the sum of
// Settings.Memory of its pools) to that plus MemoryHeadroom, and sets GOGC
// so that the collector runs well below that limit. Argon2 allocates its
// memory afresh for each hash (x/crypto has no way to reuse it), so
// without a limit the garbage of finished hashes piles up between
// collections and the process's memory follows the log-in rate, not the
// pool's size.
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
	debug.SetGCPercent(gcPercent(hashMemory, limit))
	return limit
}

// gcPercent is the GOGC that makes the collector's goal, for a heap
// holding every slot's Argon2 memory and serviceHeap besides, 80 % of
// limit. The goal must stay clear of the limit: a heap that lives at the
// limit (GOGC 400, as before) makes the runtime's scavenger hand freed
// pages back to the kernel to keep under it, and the next hash faults its
// 19 MiB back in, zeroed again by the kernel. On 2 cores that cost 12 %
// of the hash rate (85 against 97 hashes a second, three times the system
// time) and 0.05 of the log-in ratio of issue 14 (0.73 → 0.78 on
// PostgreSQL, mean of four). At 80 % the freed
// pages stay for the next hash, and the limit is left to bound a burst.
// With the default pool of two slots this is GOGC 146: a collection
// every four or five hashes.
func gcPercent(hashMemory, limit int64) int {
	live := hashMemory + serviceHeap
	goal := limit * 8 / 10
	return max(minGCPercent, int(100*(goal-live)/live))
}

// minGCPercent keeps a pool whose Argon2 memory is most of the limit (a
// large pool with the default headroom) from collecting after every hash.
const minGCPercent = 25
