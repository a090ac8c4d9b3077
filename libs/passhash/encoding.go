package passhash

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/latchkey/latchkey/libs/errs"
)

// Errors of a stored or imported hash that cannot be verified. Verify wraps
// them (test with errors.Is); ValidateLegacy turns them into field violations.
var (
	// ErrUnsupportedHash means the encoding is of no format this package reads.
	ErrUnsupportedHash = errors.New("password: unsupported hash format")
	// ErrMalformedHash means the format is known but the encoding is broken.
	ErrMalformedHash = errors.New("password: malformed hash")
	// ErrHashCostTooHigh means the hash is well formed but its cost is above
	// the bounds below, so verifying it could tie up the server.
	ErrHashCostTooHigh = errors.New("password: hash cost above the accepted limit")
)

// LegacyHashField is the request field of an imported hash; an import of
// many rows names it with the row's path ("accounts[3].legacyPasswordHash").
const LegacyHashField = "legacyPasswordHash"

// Reasons of the field violation ValidateLegacy returns.
const (
	ReasonLegacyHashUnsupported = "LEGACY_HASH_UNSUPPORTED"
	ReasonLegacyHashMalformed   = "LEGACY_HASH_MALFORMED"
	ReasonLegacyHashTooCostly   = "LEGACY_HASH_COST_TOO_HIGH"
)

// limits bound the cost of the hashes Verify accepts. An imported hash chooses
// its own cost, so without a bound one row with bcrypt cost 31 or Argon2 with
// 64 GiB would make every log-in attempt for that account a denial of service.
// Each bound is at or above what the formats' recommended settings are today,
// and a hash at a bound takes at most about half a second of one core.
type limits struct {
	// argonMemory caps Argon2 memory (KiB): 64 MiB, RFC 9106's second
	// recommended option and three times our default.
	argonMemory uint32
	// argonTime caps Argon2 passes: 10, over three times OWASP's largest
	// recommended setting (t=5 at 7 MiB).
	argonTime uint32
	// bcryptCost caps the bcrypt cost (2^cost rounds): 14 is about 1 s on
	// one core, against a default of 10–12 in current libraries.
	bcryptCost int
	// pbkdf2Iter caps PBKDF2 iterations: 2 million, twice Django 5.2's
	// default of 1,000,000 and above OWASP's 600,000 for PBKDF2-SHA256.
	pbkdf2Iter int
}

// The accepted costs, exported for documentation and configuration checks.
const (
	MaxArgon2MemoryKiB  = 64 << 10
	MaxArgon2Passes     = 10
	MaxBcryptCost       = 14
	MaxPBKDF2Iterations = 2_000_000
)

var defaultLimits = limits{
	argonMemory: MaxArgon2MemoryKiB,
	argonTime:   MaxArgon2Passes,
	bcryptCost:  MaxBcryptCost,
	pbkdf2Iter:  MaxPBKDF2Iterations,
}

// Fixed shape bounds, independent of cost.
const (
	minArgonSalt = 8 // the reference implementation's minimum
	maxArgonSalt = 64
	minKeyLen    = 16 // shorter tags make accidental matches too likely
	maxKeyLen    = 64
	maxPBKDFSalt = 1024 // passlib's maximum salt size
)

const (
	variantArgon2id = "argon2id"
	variantArgon2i  = "argon2i"
)

// digest is a parsed hash that can check a password.
type digest interface {
	// weight is the number of pool slots the check takes: more than one when
	// it needs more memory or lanes than a hash with the current params, so
	// that the pool's memory bound holds for imported hashes too.
	weight(p Params) int64
	// matches recomputes the hash of plain and compares in constant time.
	matches(plain string) (bool, error)
	// current reports whether the hash was made with exactly p.
	current(p Params) bool
}

// ValidateLegacy checks that an admin-imported hash is one Verify can read,
// in one of the supported formats and within the cost bounds, so an import
// refuses a bad row up front instead of leaving an account nobody can log in
// to. The error is errs.Invalid naming field with reason
// LEGACY_HASH_UNSUPPORTED, LEGACY_HASH_MALFORMED or LEGACY_HASH_COST_TOO_HIGH.
// The hash itself never appears in the error.
func ValidateLegacy(encoded, field string) error {
	_, err := parse(encoded, defaultLimits)
	if err == nil {
		return nil
	}
	reason := ReasonLegacyHashMalformed
	switch {
	case errors.Is(err, ErrUnsupportedHash):
		reason = ReasonLegacyHashUnsupported
	case errors.Is(err, ErrHashCostTooHigh):
		reason = ReasonLegacyHashTooCostly
	}
	desc := strings.TrimPrefix(err.Error(), "password: ")
	if reason == ReasonLegacyHashUnsupported {
		desc = "must be an argon2id or argon2i PHC string, a bcrypt hash ($2a$, $2b$, $2y$), " +
			"a $pbkdf2-sha256$ (passlib) or a pbkdf2_sha256$ (Django) hash"
	}
	return errs.Invalid(errs.Field(field, reason, desc)).WithCause(err)
}

// parse recognizes the format of encoded by its prefix and decodes it.
func parse(encoded string, lim limits) (digest, error) {
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"), strings.HasPrefix(encoded, "$argon2i$"):
		return parseArgon2(encoded, lim)
	case strings.HasPrefix(encoded, "$2a$"), strings.HasPrefix(encoded, "$2b$"), strings.HasPrefix(encoded, "$2y$"):
		return parseBcrypt(encoded, lim)
	case strings.HasPrefix(encoded, "$pbkdf2-sha256$"):
		return parsePasslibPBKDF2(encoded, lim)
	case strings.HasPrefix(encoded, "pbkdf2_sha256$"):
		return parseDjangoPBKDF2(encoded, lim)
	}
	return nil, ErrUnsupportedHash
}

func malformed(format, what string) error {
	return fmt.Errorf("%w: %s: %s", ErrMalformedHash, format, what)
}

func tooCostly(format, what string, limit any) error {
	return fmt.Errorf("%w: %s: %s above %v", ErrHashCostTooHigh, format, what, limit)
}

// ---- Argon2 ----

type argon2Digest struct {
	variant string
	memory  uint32
	time    uint32
	threads uint8
	salt    []byte
	key     []byte
}

// parseArgon2 reads "$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>"
// with standard unpadded base64, the reference implementation's format.
// Only version 19 (0x13) is accepted: x/crypto implements no other, and the
// optional keyid/data parameters are refused because we have no secret key.
func parseArgon2(encoded string, lim limits) (digest, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 {
		return nil, malformed("argon2", "want $variant$v=19$m=,t=,p=$salt$hash")
	}
	d := argon2Digest{variant: parts[1]}
	if parts[2] != "v=19" {
		return nil, fmt.Errorf("%w: argon2: only version 19 is supported", ErrUnsupportedHash)
	}
	kv := strings.Split(parts[3], ",")
	if len(kv) != 3 {
		return nil, malformed("argon2", "want parameters m=,t=,p=")
	}
	var m, t, p uint64
	for i, want := range []struct {
		key string
		dst *uint64
		max uint64
	}{{"m", &m, 1<<32 - 1}, {"t", &t, 1<<32 - 1}, {"p", &p, 255}} {
		v, ok := strings.CutPrefix(kv[i], want.key+"=")
		if !ok {
			return nil, malformed("argon2", "want parameters m=,t=,p= in that order")
		}
		n, err := parseDecimal(v, want.max)
		if err != nil {
			return nil, malformed("argon2", "parameter "+want.key+" is not a number in range")
		}
		*want.dst = n
	}
	switch {
	case p < 1:
		return nil, malformed("argon2", "p must be at least 1")
	case t < 1:
		return nil, malformed("argon2", "t must be at least 1")
	case m < 8*p:
		return nil, malformed("argon2", "m must be at least 8×p KiB")
	case m > uint64(lim.argonMemory):
		return nil, tooCostly("argon2", "memory (KiB)", lim.argonMemory)
	case t > uint64(lim.argonTime):
		return nil, tooCostly("argon2", "passes", lim.argonTime)
	}
	d.memory, d.time, d.threads = uint32(m), uint32(t), uint8(p)
	var err error
	if d.salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil {
		return nil, malformed("argon2", "salt is not unpadded base64")
	}
	if d.key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil {
		return nil, malformed("argon2", "hash is not unpadded base64")
	}
	if len(d.salt) < minArgonSalt || len(d.salt) > maxArgonSalt {
		return nil, malformed("argon2", fmt.Sprintf("salt must be %d–%d bytes", minArgonSalt, maxArgonSalt))
	}
	if len(d.key) < minKeyLen || len(d.key) > maxKeyLen {
		return nil, malformed("argon2", fmt.Sprintf("hash must be %d–%d bytes", minKeyLen, maxKeyLen))
	}
	return d, nil
}

func encodeArgon2(variant string, d argon2Digest) string {
	return fmt.Sprintf("$%s$v=19$m=%d,t=%d,p=%d$%s$%s", variant, d.memory, d.time, d.threads,
		base64.RawStdEncoding.EncodeToString(d.salt), base64.RawStdEncoding.EncodeToString(d.key))
}

func (d argon2Digest) weight(p Params) int64 {
	return max(ceilDiv(int64(d.memory), int64(p.Memory)), ceilDiv(int64(d.threads), int64(p.Threads)))
}

func (d argon2Digest) matches(plain string) (bool, error) {
	var got []byte
	if d.variant == variantArgon2id {
		got = argon2.IDKey([]byte(plain), d.salt, d.time, d.memory, d.threads, uint32(len(d.key)))
	} else {
		got = argon2.Key([]byte(plain), d.salt, d.time, d.memory, d.threads, uint32(len(d.key)))
	}
	return subtle.ConstantTimeCompare(got, d.key) == 1, nil
}

func (d argon2Digest) current(p Params) bool {
	return d.variant == variantArgon2id && d.memory == p.Memory && d.time == p.Time &&
		d.threads == p.Threads && len(d.salt) == int(p.SaltLen) && len(d.key) == int(p.KeyLen)
}

// ---- bcrypt ----

type bcryptDigest struct{ encoded []byte }

// bcryptAlphabet is bcrypt's own base64 alphabet.
const bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// parseBcrypt checks the 60-character "$2b$<cost>$<22 salt><31 hash>" shape
// before x/crypto sees it, because x/crypto is lenient about trailing bytes
// and we want import to refuse exactly what would fail later. $2a$, $2b$ and
// $2y$ are the same algorithm for valid UTF-8 input; $2x$ (a crypt_blowfish
// bug-compatibility mode) and plain $2$ are not supported.
func parseBcrypt(encoded string, lim limits) (digest, error) {
	if len(encoded) != 60 || encoded[6] != '$' {
		return nil, malformed("bcrypt", "want $2b$<cost>$ followed by 53 characters")
	}
	cost, err := parseDecimal(encoded[4:6], 99)
	if err != nil || cost < uint64(bcrypt.MinCost) {
		return nil, malformed("bcrypt", "cost must be two digits, at least 04")
	}
	if int(cost) > lim.bcryptCost {
		return nil, tooCostly("bcrypt", "cost", lim.bcryptCost)
	}
	for i := 7; i < len(encoded); i++ {
		if strings.IndexByte(bcryptAlphabet, encoded[i]) < 0 {
			return nil, malformed("bcrypt", "salt and hash must use the bcrypt alphabet")
		}
	}
	return bcryptDigest{encoded: []byte(encoded)}, nil
}

func (bcryptDigest) weight(Params) int64 { return 1 }

// matches relies on x/crypto, which compares in constant time. Like every
// bcrypt, it uses only the first 72 bytes of the password: the legacy system
// behaved the same, and the rehash to Argon2id on success ends it.
func (d bcryptDigest) matches(plain string) (bool, error) {
	err := bcrypt.CompareHashAndPassword(d.encoded, []byte(plain))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, nil
	}
	return false, fmt.Errorf("%w: bcrypt: %v", ErrMalformedHash, err)
}

func (bcryptDigest) current(Params) bool { return false }

// ---- PBKDF2-SHA256 ----

type pbkdf2Digest struct {
	iter int
	salt []byte
	key  []byte
}

// passlibB64 is passlib's "adapted base64": standard alphabet with "." for
// "+", no padding.
var passlibB64 = base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789./").WithPadding(base64.NoPadding)

// parsePasslibPBKDF2 reads passlib's "$pbkdf2-sha256$<rounds>$<salt>$<hash>",
// salt and hash in adapted base64.
func parsePasslibPBKDF2(encoded string, lim limits) (digest, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 5 {
		return nil, malformed("pbkdf2-sha256", "want $pbkdf2-sha256$rounds$salt$hash")
	}
	iter, err := parseIterations("pbkdf2-sha256", parts[2], lim)
	if err != nil {
		return nil, err
	}
	d := pbkdf2Digest{iter: iter}
	if d.salt, err = passlibB64.DecodeString(parts[3]); err != nil {
		return nil, malformed("pbkdf2-sha256", "salt is not passlib base64")
	}
	if d.key, err = passlibB64.DecodeString(parts[4]); err != nil {
		return nil, malformed("pbkdf2-sha256", "hash is not passlib base64")
	}
	return d.checkShape("pbkdf2-sha256")
}

// parseDjangoPBKDF2 reads Django's "pbkdf2_sha256$<iterations>$<salt>$<hash>":
// the salt is used as the literal bytes of the string (Django forbids "$" in
// it) and the hash is padded standard base64.
func parseDjangoPBKDF2(encoded string, lim limits) (digest, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 4 {
		return nil, malformed("pbkdf2_sha256", "want pbkdf2_sha256$iterations$salt$hash")
	}
	iter, err := parseIterations("pbkdf2_sha256", parts[1], lim)
	if err != nil {
		return nil, err
	}
	d := pbkdf2Digest{iter: iter, salt: []byte(parts[2])}
	if len(d.salt) == 0 {
		return nil, malformed("pbkdf2_sha256", "salt is empty")
	}
	if d.key, err = base64.StdEncoding.DecodeString(parts[3]); err != nil {
		return nil, malformed("pbkdf2_sha256", "hash is not padded base64")
	}
	return d.checkShape("pbkdf2_sha256")
}

func parseIterations(format, s string, lim limits) (int, error) {
	n, err := parseDecimal(s, 1<<31-1)
	if err != nil || n < 1 {
		return 0, malformed(format, "iterations must be a positive number")
	}
	if n > uint64(lim.pbkdf2Iter) {
		return 0, tooCostly(format, "iterations", lim.pbkdf2Iter)
	}
	return int(n), nil
}

func (d pbkdf2Digest) checkShape(format string) (digest, error) {
	if len(d.salt) > maxPBKDFSalt {
		return nil, malformed(format, fmt.Sprintf("salt longer than %d bytes", maxPBKDFSalt))
	}
	if len(d.key) < minKeyLen || len(d.key) > maxKeyLen {
		return nil, malformed(format, fmt.Sprintf("hash must be %d–%d bytes", minKeyLen, maxKeyLen))
	}
	return d, nil
}

func (pbkdf2Digest) weight(Params) int64 { return 1 }

// matches uses the standard library's crypto/pbkdf2 (which x/crypto/pbkdf2
// now wraps) because it reports errors where x/crypto panics.
func (d pbkdf2Digest) matches(plain string) (bool, error) {
	got, err := pbkdf2.Key(sha256.New, plain, d.salt, d.iter, len(d.key))
	if err != nil {
		return false, fmt.Errorf("password: pbkdf2: %w", err)
	}
	return subtle.ConstantTimeCompare(got, d.key) == 1, nil
}

func (pbkdf2Digest) current(Params) bool { return false }

// ---- helpers ----

// parseDecimal parses a plain unsigned decimal at most maxVal, refusing signs,
// spaces and empty strings that strconv would (partly) accept elsewhere.
func parseDecimal(s string, maxVal uint64) (uint64, error) {
	if s == "" || len(s) > 10 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, strconv.ErrSyntax
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > maxVal {
		return 0, strconv.ErrRange
	}
	return n, nil
}

func ceilDiv(a, b int64) int64 {
	if b <= 0 {
		return 1
	}
	return (a + b - 1) / b
}
