package passhash

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/sync/semaphore"

	"github.com/latchkey/latchkey/libs/errs"
)

// Params are the Argon2id cost parameters of a deployment. Changing them makes
// every stored hash report needsRehash, so users move to the new cost at their
// next log-in.
type Params struct {
	// Memory is the memory cost in KiB.
	Memory uint32
	// Time is the number of passes over the memory.
	Time uint32
	// Threads is the degree of parallelism (Argon2 lanes).
	Threads uint8
	// SaltLen is the length of the random salt in bytes.
	SaltLen uint32
	// KeyLen is the length of the derived hash in bytes.
	KeyLen uint32
}

// DefaultParams are the OWASP-recommended Argon2id minimum (m=19 MiB, t=2,
// p=1) with a 16-byte salt and a 32-byte hash, as DESIGN.md requires.
var DefaultParams = Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Validate reports whether p can be used for new hashes. The bounds are those
// accepted for stored hashes (see Verify), so that a hash made with p can
// always be verified again.
func (p Params) Validate() error {
	switch {
	case p.Threads < 1:
		return fmt.Errorf("password: argon2 threads must be at least 1")
	case p.Time < 1 || p.Time > defaultLimits.argonTime:
		return fmt.Errorf("password: argon2 time must be 1–%d", defaultLimits.argonTime)
	case p.Memory < 8*uint32(p.Threads) || p.Memory > defaultLimits.argonMemory:
		// Argon2 needs 8 KiB per lane; x/crypto would silently raise it and so
		// produce hashes other implementations read differently.
		return fmt.Errorf("password: argon2 memory must be %d–%d KiB", 8*uint32(p.Threads), defaultLimits.argonMemory)
	case p.SaltLen < minArgonSalt || p.SaltLen > maxArgonSalt:
		return fmt.Errorf("password: salt length must be %d–%d bytes", minArgonSalt, maxArgonSalt)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("password: key length must be %d–%d bytes", minKeyLen, maxKeyLen)
	}
	return nil
}

// ReasonHasherBusy is the reason of the Unavailable error returned when the
// queue for a hashing slot is full, or a caller's deadline passed while it
// waited in it.
const ReasonHasherBusy = "PASSWORD_HASHER_BUSY"

// RetryAfterSeconds is what a busy error tells the caller to wait before
// trying again (ErrorInfo metadata "retryAfterSeconds", which the gateway
// turns into Retry-After): a full queue drains in about a second or two.
const RetryAfterSeconds = "1"

// DefaultQueuePerSlot is how many callers may wait per pool slot when no
// queue length is configured. At the default parameters one hash takes
// about 25 ms of one core, so 64 waiters per slot are about 1.5 s of work:
// a morning burst of log-ins waits a little instead of failing, while a
// flood gets its refusals at once rather than after a timeout. A waiter
// costs a goroutine and its request, not Argon2 memory (only the pool's
// slots hold that), so the queue bounds latency more than memory.
const DefaultQueuePerSlot = 64

// ErrQueueFull is the cause of a busy error given at once because the queue
// for a slot was full.
var ErrQueueFull = errors.New("password: too many hashes waiting for a slot")

// Hasher hashes and verifies passwords on a bounded pool. Argon2 is
// memory-hard by design, so without a bound a burst of log-ins would each
// allocate Memory KiB at once and exhaust the process; with it, at most
// poolSize computations run at a time and the rest wait in line (FIFO) until
// a slot is free or their context ends. The line is bounded too: when queue
// callers already wait, the next one gets Unavailable (PASSWORD_HASHER_BUSY)
// at once instead of piling up behind them. Waiting costs no goroutine
// beyond the caller's own: the computation runs on the calling goroutine.
//
// A Hasher is safe for concurrent use.
type Hasher struct {
	params Params
	size   int64
	slots  *semaphore.Weighted
	// queue is how many callers may wait for slots; waiting counts them,
	// and inside the callers admitted by Enter.
	queue           int64
	waiting, inside atomic.Int64
	limits          limits
	// dummy is an argon2id hash with the current params that matches no
	// password; DummyVerify checks against it.
	dummy string
	// metrics, once Register has set them, record waits and refusals.
	metrics atomic.Pointer[hasherMetrics]
	// hook, when set (tests only), is called on the computing goroutine when a
	// computation holds its slot (true) and just before it gives it back (false).
	hook func(running bool)
}

// NewHasher returns a Hasher for p whose pool has poolSize slots; 0 (or less)
// means runtime.GOMAXPROCS, since Argon2 with p=1 keeps one core busy and more
// slots than cores only add memory without adding throughput. At most queue
// callers wait for a slot; 0 (or less) means DefaultQueuePerSlot × the pool
// size.
//
// NewHasher panics if p is not valid: parameters come from deployment
// configuration, which should be checked with Params.Validate at start-up.
func NewHasher(p Params, poolSize, queue int) *Hasher {
	if err := p.Validate(); err != nil {
		panic(err)
	}
	if poolSize <= 0 {
		poolSize = runtime.GOMAXPROCS(0)
	}
	if queue <= 0 {
		queue = DefaultQueuePerSlot * poolSize
	}
	h := &Hasher{
		params: p,
		size:   int64(poolSize),
		slots:  semaphore.NewWeighted(int64(poolSize)),
		queue:  int64(queue),
		limits: defaultLimits,
	}
	// Random bytes in place of a real hash cost nothing to make and, with a
	// 2^-256 chance, match no password; verifying against them costs exactly
	// what verifying a real current hash costs.
	h.dummy = encodeArgon2(variantArgon2id, argon2Digest{
		variant: variantArgon2id,
		memory:  p.Memory, time: p.Time, threads: p.Threads,
		salt: randomBytes(p.SaltLen), key: randomBytes(p.KeyLen),
	})
	return h
}

// Enter admits a caller that will hash, such as a log-in, for its whole
// course and not only its wait for a slot: at most pool size + queue
// callers are inside at once, and the next one gets the busy error at once,
// before it costs an account lookup or a transaction. Without it a flood
// passes the pool's queue while it waits for the database, and is refused
// only after that work (and refused again on its way out). leave must be
// called when the caller is done.
func (h *Hasher) Enter() (leave func(), err error) {
	if h.inside.Add(1) > h.size+h.queue {
		h.inside.Add(-1)
		return nil, h.refused(ErrQueueFull)
	}
	return func() { h.inside.Add(-1) }, nil
}

// Params returns the parameters new hashes are made with.
func (h *Hasher) Params() Params { return h.params }

// Hash returns the Argon2id PHC string of plain with the current parameters,
// e.g. "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>" (standard base64
// without padding, as the reference implementation writes it). It waits for a
// pool slot until ctx ends; then it returns an Unavailable error whose cause is
// ctx.Err().
func (h *Hasher) Hash(ctx context.Context, plain string) (string, error) {
	p := h.params
	d := argon2Digest{
		variant: variantArgon2id,
		memory:  p.Memory, time: p.Time, threads: p.Threads,
		salt: randomBytes(p.SaltLen),
	}
	err := h.run(ctx, d.weight(p), func() {
		d.key = argon2.IDKey([]byte(plain), d.salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	})
	if err != nil {
		return "", err
	}
	return encodeArgon2(variantArgon2id, d), nil
}

// Verify reports whether plain matches encoded, which may be an Argon2id or
// Argon2i PHC string, a bcrypt hash ($2a$, $2b$, $2y$), a passlib
// "$pbkdf2-sha256$" hash or a Django "pbkdf2_sha256$" hash. The comparison is
// constant-time.
//
// needsRehash is true when plain matched and encoded is anything but Argon2id
// with exactly the current parameters: the caller then holds the plain text
// and should store a fresh Hash of it. When plain does not match, both bools
// are false.
//
// A malformed or unsupported encoding, or one whose cost is above the accepted
// bounds (see ValidateLegacy), is an error wrapping ErrMalformedHash,
// ErrUnsupportedHash or ErrHashCostTooHigh; a context that ends while waiting
// for a slot gives an Unavailable error, as with Hash.
func (h *Hasher) Verify(ctx context.Context, encoded, plain string) (ok, needsRehash bool, err error) {
	d, err := parse(encoded, h.limits)
	if err != nil {
		return false, false, err
	}
	var match bool
	var matchErr error
	if err := h.run(ctx, d.weight(h.params), func() { match, matchErr = d.matches(plain) }); err != nil {
		return false, false, err
	}
	if matchErr != nil {
		return false, false, matchErr
	}
	if !match {
		return false, false, nil
	}
	return true, !d.current(h.params), nil
}

// DummyVerify verifies plain against a fixed Argon2id hash with the current
// parameters that matches nothing. A log-in for an unknown tenant or user
// calls it so that it takes about as long as one with a wrong password and
// the timing does not reveal which accounts exist. Its error is Verify's
// (Unavailable when the pool stayed busy until ctx ended), so even that
// outcome is the same for known and unknown users.
func (h *Hasher) DummyVerify(ctx context.Context, plain string) error {
	_, _, err := h.Verify(ctx, h.dummy, plain)
	return err
}

// MatchesAny reports whether plain matches any of the encoded hashes, e.g. the
// last N passwords of an account when a policy forbids reusing them. Each
// comparison takes its own pool slot, so a long history does not hold a slot
// for its whole length. An encoding that cannot be verified is an error
// rather than a skip, so a damaged history never silently lets a reuse pass.
func (h *Hasher) MatchesAny(ctx context.Context, plain string, encoded []string) (bool, error) {
	for i, e := range encoded {
		ok, _, err := h.Verify(ctx, e, plain)
		if err != nil {
			return false, fmt.Errorf("password: history entry %d: %w", i, err)
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}

// run executes f while holding weight slots of the pool.
func (h *Hasher) run(ctx context.Context, weight int64, f func()) error {
	weight = max(1, min(weight, h.size))
	// semaphore.Acquire may succeed on a done context when a slot is free;
	// checking first means a caller that has already given up costs nothing.
	if err := ctx.Err(); err != nil {
		return h.refused(err)
	}
	start := time.Now()
	if !h.slots.TryAcquire(weight) {
		// Counted before waiting, so that of many callers arriving at once
		// no more than queue wait, whatever their order.
		if h.waiting.Add(1) > h.queue {
			h.waiting.Add(-1)
			return h.refused(ErrQueueFull)
		}
		err := h.slots.Acquire(ctx, weight)
		h.waiting.Add(-1)
		if err != nil {
			return h.refused(err)
		}
	}
	h.waited(start)
	defer h.slots.Release(weight)
	if h.hook != nil {
		h.hook(true)
		defer h.hook(false)
	}
	f()
	return nil
}

func busy(cause error) error {
	return errs.Unavailable(ReasonHasherBusy, "the server is busy, please try again", cause).
		WithMetadata("retryAfterSeconds", RetryAfterSeconds)
}

// randomBytes returns n bytes from crypto/rand, which never fails on the
// platforms Go supports (it crashes the program rather than return short).
func randomBytes(n uint32) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}
