package passhash

import (
	"errors"
	"math"

	"github.com/latchkey/latchkey/libs/config"
)

// Settings are a deployment's hashing settings: the Argon2id cost, how
// many hashes are computed at once (Pool, 0: one per core) and how many
// may wait for a slot before the next is refused as busy (Queue, 0: 64
// per pool slot).
type Settings struct {
	Params Params
	Pool   int
	Queue  int
	// Shared, when set, is the hasher NewHasher returns instead of a new
	// one: services in one process (the all-in-one) share one pool, since
	// they share its cores and its memory.
	Shared *Hasher
}

// NewHasher returns the hasher of s (DefaultParams when s has none).
func (s Settings) NewHasher() *Hasher {
	if s.Shared != nil {
		return s.Shared
	}
	p := s.Params
	if p == (Params{}) {
		p = DefaultParams
	}
	return NewHasher(p, s.Pool, s.Queue)
}

// SettingsFromEnv reads the hashing settings, the same for every service
// that stores hashed secrets.
func SettingsFromEnv(l *config.Loader) Settings {
	p := DefaultParams
	memory := l.Int("LATCHKEY_ARGON2_MEMORY_KIB", int(p.Memory), "Argon2id memory per password hash, KiB")
	passes := l.Int("LATCHKEY_ARGON2_TIME", int(p.Time), "Argon2id passes")
	lanes := l.Int("LATCHKEY_ARGON2_THREADS", int(p.Threads), "Argon2id lanes")
	// Checked here, before the narrowing conversions, so a value out of
	// range is one line naming the variables rather than a wrapped
	// number or a panic in the hasher.
	switch {
	case memory < 0 || memory > math.MaxUint32:
		l.Invalid("LATCHKEY_ARGON2_MEMORY_KIB", errors.New("out of range"))
	case passes < 0 || passes > math.MaxUint32:
		l.Invalid("LATCHKEY_ARGON2_TIME", errors.New("out of range"))
	case lanes < 0 || lanes > math.MaxUint8:
		l.Invalid("LATCHKEY_ARGON2_THREADS", errors.New("out of range"))
	default:
		p.Memory, p.Time, p.Threads = uint32(memory), uint32(passes), uint8(lanes)
		l.Invalid("LATCHKEY_ARGON2_MEMORY_KIB, LATCHKEY_ARGON2_TIME, LATCHKEY_ARGON2_THREADS", p.Validate())
	}
	pool := l.Int("LATCHKEY_HASH_POOL", 0, "password hashes computed at once (0: one per core); memory bound = pool × Argon2 memory")
	if pool < 0 {
		l.Invalid("LATCHKEY_HASH_POOL", errors.New("must be 0 (one per core) or more"))
	}
	queue := l.Int("LATCHKEY_HASH_QUEUE", 0,
		"log-ins (password or PIN) that may wait for the hash pool (0: 64 per pool slot, about 1.5 s of work); more get 503 PASSWORD_HASHER_BUSY with Retry-After at once")
	if queue < 0 {
		l.Invalid("LATCHKEY_HASH_QUEUE", errors.New("must be 0 (64 per pool slot) or more"))
	}
	return Settings{Params: p, Pool: pool, Queue: queue}
}
