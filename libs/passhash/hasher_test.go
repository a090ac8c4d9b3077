package passhash

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/latchkey/latchkey/libs/errs"
)

// fastParams keep tests quick; the vectors below carry their own params.
var fastParams = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// Vectors made by independent implementations (Debian's python3-argon2,
// python3-bcrypt, python3-passlib 1.7.4 and python3-django 3.2), so that
// they test the formats and not our own encoder. Password: "correct horse"
// unless the name says otherwise.
const (
	vecArgon2idDefault = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$k9ohroejZy1PN5E1SbHNPug6vB8eQAahb5SOAp6iGF4"
	vecArgon2idP2      = "$argon2id$v=19$m=8192,t=1,p=2$c29tZXNhbHRzb21lc2FsdA$l/FpPwTO0wHbE8uaAo4SLb+8J0ACOvQrkNs7I0CcRHo"
	vecArgon2i         = "$argon2i$v=19$m=4096,t=3,p=1$c29tZXNhbHRzb21lc2FsdA$1/eIeJ0nUgcxg/1AfmzkamUE6zoxjEV04DP4mGuRShA"
	vecBcrypt2b        = "$2b$05$ny3Rz5IcaXhHzLz2owqlI.MY6eYPSgz.vFu6/PRKidLOHhwwtUznK"
	vecBcrypt2a        = "$2a$05$wAN/RPKK.nadWzvasNT5lecbm83.EciIMsk44i9yk9OKWQSb7pmkO"
	// $2y$ (PHP) is the same algorithm as $2b$; only the label differs.
	vecBcrypt2y      = "$2y$05$ny3Rz5IcaXhHzLz2owqlI.MY6eYPSgz.vFu6/PRKidLOHhwwtUznK"
	vecPasslib       = "$pbkdf2-sha256$29000$bGF0Y2hrZXktc2FsdC0xNg$EdRk9PzxFlVUq/yLG8uxB5nbZjiEiAN7ympMIK.S5B4"
	vecPasslibHunter = "$pbkdf2-sha256$1000$NiaEcM55z/nfm3MOwXhPqQ$ZllSLH.KDvY2mmgMXKFqrxjRy4pu5XNzYGNqscPYzE0" // "hunter2"
	vecDjango        = "pbkdf2_sha256$260000$seasalt2024abcd$wwrHHYOykKyC0N++cro+ANZ42F+a5xqr3vam8GdmafA="
	vecDjangoUmlaut  = "pbkdf2_sha256$1000$AbCdEfGhIjKl$1GqAq3paHX9Y5c3jRo6+TxN8WOmO/7W5SsOMGk9wP84=" // "pässwörd"
)

func newTestHasher(t testing.TB, p Params, pool int) *Hasher {
	t.Helper()
	return NewHasher(p, pool, 0)
}

func TestHash_ProducesReferenceFormatThatVerifies(t *testing.T) {
	h := newTestHasher(t, DefaultParams, 1)
	enc, err := h.Hash(t.Context(), "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(enc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != "v=19" || parts[3] != "m=19456,t=2,p=1" {
		t.Fatalf("Hash = %q, want $argon2id$v=19$m=19456,t=2,p=1$...", enc)
	}
	if strings.Contains(parts[4]+parts[5], "=") {
		t.Errorf("Hash = %q, want unpadded base64", enc)
	}
	if salt, _ := base64.RawStdEncoding.DecodeString(parts[4]); len(salt) != 16 {
		t.Errorf("salt is %d bytes, want 16", len(salt))
	}
	if key, _ := base64.RawStdEncoding.DecodeString(parts[5]); len(key) != 32 {
		t.Errorf("key is %d bytes, want 32", len(key))
	}
	ok, rehash, err := h.Verify(t.Context(), enc, "correct horse")
	if err != nil || !ok || rehash {
		t.Errorf("Verify(own hash) = %v, %v, %v; want true, false, nil", ok, rehash, err)
	}
	ok, _, err = h.Verify(t.Context(), enc, "correct horsE")
	if err != nil || ok {
		t.Errorf("Verify(wrong) = %v, %v; want false, nil", ok, err)
	}
	enc2, _ := h.Hash(t.Context(), "correct horse")
	if enc2 == enc {
		t.Error("two hashes of the same password are equal: salt is not random")
	}
}

func TestVerify_KnownVectors(t *testing.T) {
	h := newTestHasher(t, DefaultParams, 2)
	// Hashes this test makes with the libraries, in the formats' own code
	// paths, beside the fixed vectors from other implementations.
	bc, err := bcrypt.GenerateFromPassword([]byte("correct horse"), 6)
	if err != nil {
		t.Fatal(err)
	}
	dk, err := pbkdf2.Key(sha256.New, "correct horse", []byte("NaCl-from-test"), 260000, 32)
	if err != nil {
		t.Fatal(err)
	}
	djangoComputed := "pbkdf2_sha256$260000$NaCl-from-test$" + base64.StdEncoding.EncodeToString(dk)
	passlibComputed := "$pbkdf2-sha256$5000$" + passlibB64.EncodeToString([]byte("0123456789abcdef")) + "$" +
		passlibB64.EncodeToString(mustPBKDF2(t, "correct horse", []byte("0123456789abcdef"), 5000))

	tests := []struct {
		name, encoded, plain string
		wantRehash           bool
	}{
		{"argon2id current params", vecArgon2idDefault, "correct horse", false},
		{"argon2id other params", vecArgon2idP2, "correct horse", true},
		{"argon2i", vecArgon2i, "correct horse", true},
		{"bcrypt $2b$", vecBcrypt2b, "correct horse", true},
		{"bcrypt $2a$", vecBcrypt2a, "correct horse", true},
		{"bcrypt $2y$", vecBcrypt2y, "correct horse", true},
		{"bcrypt generated", string(bc), "correct horse", true},
		{"passlib pbkdf2-sha256", vecPasslib, "correct horse", true},
		{"passlib pbkdf2-sha256 hunter2", vecPasslibHunter, "hunter2", true},
		{"passlib computed", passlibComputed, "correct horse", true},
		{"django pbkdf2_sha256", vecDjango, "correct horse", true},
		{"django non-ASCII password", vecDjangoUmlaut, "pässwörd", true},
		{"django computed", djangoComputed, "correct horse", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(t.Context(), tt.encoded, tt.plain)
			if err != nil || !ok || rehash != tt.wantRehash {
				t.Fatalf("Verify(right) = %v, %v, %v; want true, %v, nil", ok, rehash, err, tt.wantRehash)
			}
			if err := ValidateLegacy(tt.encoded, LegacyHashField); err != nil {
				t.Errorf("ValidateLegacy = %v, want nil", err)
			}
			ok, rehash, err = h.Verify(t.Context(), tt.encoded, tt.plain+"x")
			if err != nil || ok || rehash {
				t.Errorf("Verify(wrong) = %v, %v, %v; want false, false, nil", ok, rehash, err)
			}
		})
	}
}

func mustPBKDF2(t *testing.T, plain string, salt []byte, iter int) []byte {
	t.Helper()
	k, err := pbkdf2.Key(sha256.New, plain, salt, iter, 32)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestVerify_NeedsRehashWhenAnyParamDiffers(t *testing.T) {
	ctx := t.Context()
	base := newTestHasher(t, fastParams, 1)
	enc, err := base.Hash(ctx, "pw")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		p      Params
		rehash bool
	}{
		{"same", fastParams, false},
		{"memory", Params{128, 1, 1, 16, 32}, true},
		{"time", Params{64, 2, 1, 16, 32}, true},
		{"threads", Params{64, 1, 2, 16, 32}, true},
		{"salt length", Params{64, 1, 1, 24, 32}, true},
		{"key length", Params{64, 1, 1, 16, 64}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := newTestHasher(t, tt.p, 1).Verify(ctx, enc, "pw")
			if err != nil || !ok || rehash != tt.rehash {
				t.Errorf("Verify = %v, %v, %v; want true, %v, nil", ok, rehash, err, tt.rehash)
			}
		})
	}
	// Argon2i with exactly the current numbers is still the wrong variant.
	d, _ := parse(enc, defaultLimits)
	a := d.(argon2Digest)
	a.variant = variantArgon2i
	a.key = argon2.Key([]byte("pw"), a.salt, a.time, a.memory, a.threads, uint32(len(a.key)))
	argon2iEnc := encodeArgon2(variantArgon2i, a)
	for _, tt := range tests[:1] {
		t.Run("argon2i with current params", func(t *testing.T) {
			ok, rehash, err := newTestHasher(t, tt.p, 1).Verify(ctx, argon2iEnc, "pw")
			if err != nil || !ok || !rehash {
				t.Errorf("Verify = %v, %v, %v; want true, true, nil", ok, rehash, err)
			}
		})
	}
}

func TestVerify_RefusesMalformedAndCostly(t *testing.T) {
	h := newTestHasher(t, fastParams, 1)
	tests := []struct {
		name, encoded string
		want          error
	}{
		{"empty", "", ErrUnsupportedHash},
		{"plain text", "hunter2", ErrUnsupportedHash},
		{"argon2d", "$argon2d$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$k9ohroejZy1PN5E1SbHNPug6vB8eQAahb5SOAp6iGF4", ErrUnsupportedHash},
		{"argon2 version 16", "$argon2id$v=16$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$k9ohroejZy1PN5E1SbHNPug6vB8eQAahb5SOAp6iGF4", ErrUnsupportedHash},
		{"argon2 no version", "$argon2id$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$k9ohroejZy1PN5E1SbHNPug6vB8eQAahb5SOAp6iGF4", ErrMalformedHash},
		{"argon2 params out of order", "$argon2id$v=19$t=1,m=64,p=1$c29tZXNhbHRzb21lc2FsdA$k9ohroejZy1PN5E1SbHNPug6vB8eQAahb5SOAp6iGF4", ErrMalformedHash},
		{"argon2 keyid", "$argon2id$v=19$m=64,t=1,p=1,keyid=x$c29tZXNhbHRzb21lc2FsdA$k9ohroejZy1PN5E1SbHNPug6vB8eQAahb5SOAp6iGF4", ErrMalformedHash},
		{"argon2 negative", "$argon2id$v=19$m=-64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$k9ohroejZy1PN5E1SbHNPug6vB8eQAahb5SOAp6iGF4", ErrMalformedHash},
		{"argon2 p=0", "$argon2id$v=19$m=64,t=1,p=0$c29tZXNhbHRzb21lc2FsdA$k9ohroejZy1PN5E1SbHNPug6vB8eQAahb5SOAp6iGF4", ErrMalformedHash},
		{"argon2 p=256", "$argon2id$v=19$m=4096,t=1,p=256$c29tZXNhbHRzb21lc2FsdA$k9ohroejZy1PN5E1SbHNPug6vB8eQAahb5SOAp6iGF4", ErrMalformedHash},
		{"argon2 m below 8p", "$argon2id$v=19$m=15,t=1,p=2$c29tZXNhbHRzb21lc2FsdA$k9ohroejZy1PN5E1SbHNPug6vB8eQAahb5SOAp6iGF4", ErrMalformedHash},
		{"argon2 padded salt", "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA==$k9ohroejZy1PN5E1SbHNPug6vB8eQAahb5SOAp6iGF4", ErrMalformedHash},
		{"argon2 short salt", "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$k9ohroejZy1PN5E1SbHNPug6vB8eQAahb5SOAp6iGF4", ErrMalformedHash},
		{"argon2 short key", "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$k9ohroejZy1PN5E1", ErrMalformedHash},
		{"argon2 2 GiB", "$argon2id$v=19$m=2097152,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$k9ohroejZy1PN5E1SbHNPug6vB8eQAahb5SOAp6iGF4", ErrHashCostTooHigh},
		{"argon2 t=11", "$argon2id$v=19$m=64,t=11,p=1$c29tZXNhbHRzb21lc2FsdA$k9ohroejZy1PN5E1SbHNPug6vB8eQAahb5SOAp6iGF4", ErrHashCostTooHigh},
		{"argon2 1 GiB × 5", "$argon2id$v=19$m=1048576,t=5,p=1$c29tZXNhbHRzb21lc2FsdA$k9ohroejZy1PN5E1SbHNPug6vB8eQAahb5SOAp6iGF4", ErrHashCostTooHigh},
		{"argon2 m overflow", "$argon2id$v=19$m=99999999999,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$k9ohroejZy1PN5E1SbHNPug6vB8eQAahb5SOAp6iGF4", ErrMalformedHash},
		{"argon2 64 MiB + 1 KiB", "$argon2id$v=19$m=65537,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$k9ohroejZy1PN5E1SbHNPug6vB8eQAahb5SOAp6iGF4", ErrHashCostTooHigh},
		{"argon2 1 GiB", "$argon2id$v=19$m=1048576,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$k9ohroejZy1PN5E1SbHNPug6vB8eQAahb5SOAp6iGF4", ErrHashCostTooHigh},
		{"bcrypt cost 15", "$2b$15$ny3Rz5IcaXhHzLz2owqlI.MY6eYPSgz.vFu6/PRKidLOHhwwtUznK", ErrHashCostTooHigh},
		{"bcrypt cost 16", "$2b$16$ny3Rz5IcaXhHzLz2owqlI.MY6eYPSgz.vFu6/PRKidLOHhwwtUznK", ErrHashCostTooHigh},
		{"passlib 2 000 001 rounds", "$pbkdf2-sha256$2000001$bGF0Y2hrZXktc2FsdC0xNg$EdRk9PzxFlVUq/yLG8uxB5nbZjiEiAN7ympMIK.S5B4", ErrHashCostTooHigh},
		{"django 2 000 001 iterations", "pbkdf2_sha256$2000001$seasalt2024abcd$wwrHHYOykKyC0N++cro+ANZ42F+a5xqr3vam8GdmafA=", ErrHashCostTooHigh},
		{"bcrypt cost 03", "$2b$03$ny3Rz5IcaXhHzLz2owqlI.MY6eYPSgz.vFu6/PRKidLOHhwwtUznK", ErrMalformedHash},
		{"bcrypt short", "$2b$05$ny3Rz5IcaXhHzLz2owqlI.MY6eYPSgz.vFu6/PRKidLOHhwwtUzn", ErrMalformedHash},
		{"bcrypt long", "$2b$05$ny3Rz5IcaXhHzLz2owqlI.MY6eYPSgz.vFu6/PRKidLOHhwwtUznKK", ErrMalformedHash},
		{"bcrypt bad alphabet", "$2b$05$ny3Rz5IcaXhHzLz2owqlI+MY6eYPSgz.vFu6/PRKidLOHhwwtUznK", ErrMalformedHash},
		{"bcrypt $2x$", "$2x$05$ny3Rz5IcaXhHzLz2owqlI.MY6eYPSgz.vFu6/PRKidLOHhwwtUznK", ErrUnsupportedHash},
		{"passlib too many rounds", "$pbkdf2-sha256$10000001$bGF0Y2hrZXktc2FsdC0xNg$EdRk9PzxFlVUq/yLG8uxB5nbZjiEiAN7ympMIK.S5B4", ErrHashCostTooHigh},
		{"passlib zero rounds", "$pbkdf2-sha256$0$bGF0Y2hrZXktc2FsdC0xNg$EdRk9PzxFlVUq/yLG8uxB5nbZjiEiAN7ympMIK.S5B4", ErrMalformedHash},
		{"passlib std base64 plus", "$pbkdf2-sha256$29000$bGF0Y2hrZXktc2FsdC0xNg$EdRk9PzxFlVUq/yLG8uxB5nbZjiEiAN7ympMIK+S5B4", ErrMalformedHash},
		{"passlib missing part", "$pbkdf2-sha256$29000$EdRk9PzxFlVUq/yLG8uxB5nbZjiEiAN7ympMIK.S5B4", ErrMalformedHash},
		{"django too many iterations", "pbkdf2_sha256$99999999$seasalt2024abcd$wwrHHYOykKyC0N++cro+ANZ42F+a5xqr3vam8GdmafA=", ErrHashCostTooHigh},
		{"django unpadded", "pbkdf2_sha256$260000$seasalt2024abcd$wwrHHYOykKyC0N++cro+ANZ42F+a5xqr3vam8GdmafA", ErrMalformedHash},
		{"django empty salt", "pbkdf2_sha256$260000$$wwrHHYOykKyC0N++cro+ANZ42F+a5xqr3vam8GdmafA=", ErrMalformedHash},
		{"django iterations with sign", "pbkdf2_sha256$+260000$seasalt2024abcd$wwrHHYOykKyC0N++cro+ANZ42F+a5xqr3vam8GdmafA=", ErrMalformedHash},
		{"django sha1", "pbkdf2_sha1$260000$seasalt2024abcd$wwrHHYOykKyC0N++cro+ANZ42F+a5xqr3vam8GdmafA=", ErrUnsupportedHash},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(t.Context(), tt.encoded, "correct horse")
			if !errors.Is(err, tt.want) || ok || rehash {
				t.Errorf("Verify = %v, %v, %v; want false, false, %v", ok, rehash, err, tt.want)
			}
			verr := ValidateLegacy(tt.encoded, LegacyHashField)
			var e *errs.Error
			if !errors.As(verr, &e) || e.Kind != errs.KindInvalid || len(e.Fields) != 1 || e.Fields[0].Field != LegacyHashField {
				t.Fatalf("ValidateLegacy = %#v, want Invalid on %s", verr, LegacyHashField)
			}
			wantReason := map[error]string{
				ErrUnsupportedHash: ReasonLegacyHashUnsupported,
				ErrMalformedHash:   ReasonLegacyHashMalformed,
				ErrHashCostTooHigh: ReasonLegacyHashTooCostly,
			}[tt.want]
			if e.Fields[0].Reason != wantReason {
				t.Errorf("reason = %s, want %s", e.Fields[0].Reason, wantReason)
			}
			if len(tt.encoded) > 20 && strings.Contains(e.Fields[0].Description+verr.Error(), tt.encoded[len(tt.encoded)-20:]) {
				t.Errorf("error repeats the hash: %v", verr)
			}
		})
	}
}

// The bounds themselves are accepted: a hash at each limit imports (it is
// not verified here, which would take its full cost).
func TestValidateLegacy_AcceptsHashesAtTheLimits(t *testing.T) {
	for _, encoded := range []string{
		"$argon2id$v=19$m=65536,t=10,p=1$c29tZXNhbHRzb21lc2FsdA$k9ohroejZy1PN5E1SbHNPug6vB8eQAahb5SOAp6iGF4",
		"$2b$14$ny3Rz5IcaXhHzLz2owqlI.MY6eYPSgz.vFu6/PRKidLOHhwwtUznK",
		"$pbkdf2-sha256$2000000$bGF0Y2hrZXktc2FsdC0xNg$EdRk9PzxFlVUq/yLG8uxB5nbZjiEiAN7ympMIK.S5B4",
		"pbkdf2_sha256$2000000$seasalt2024abcd$wwrHHYOykKyC0N++cro+ANZ42F+a5xqr3vam8GdmafA=",
	} {
		if err := ValidateLegacy(encoded, "accounts[7].legacyPasswordHash"); err != nil {
			t.Errorf("ValidateLegacy(%.24s…) = %v, want accepted", encoded, err)
		}
	}
	err := ValidateLegacy("$argon2id$v=19$m=1048576,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$k9ohroejZy1PN5E1SbHNPug6vB8eQAahb5SOAp6iGF4",
		"accounts[7].legacyPasswordHash")
	var e *errs.Error
	if !errors.As(err, &e) || len(e.Fields) != 1 || e.Fields[0].Field != "accounts[7].legacyPasswordHash" ||
		!strings.Contains(e.Message, "accounts[7].legacyPasswordHash") || !strings.Contains(e.Message, "65536") {
		t.Fatalf("1 GiB Argon2 = %v, want Invalid naming the row's field and the limit", err)
	}
}

// When queue callers already wait for a slot, the next one is refused at
// once (Unavailable, PASSWORD_HASHER_BUSY, with a retry hint) and computes
// nothing; the waiters are served when the slot frees.
func TestHasher_FullQueueRefusesAtOnce(t *testing.T) {
	h := NewHasher(fastParams, 1, 2)
	if err := h.slots.Acquire(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errc := make(chan error, 2)
	for range 2 {
		wg.Go(func() { _, err := h.Hash(t.Context(), "pw"); errc <- err })
	}
	for h.waiting.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	_, _, err := h.Verify(t.Context(), h.dummy, "pw")
	if elapsed := time.Since(start); elapsed > 100*time.Millisecond {
		t.Errorf("refusal took %v, want at once", elapsed)
	}
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind != errs.KindUnavailable || e.Reason != ReasonHasherBusy ||
		!errors.Is(err, ErrQueueFull) || e.Metadata["retryAfterSeconds"] == "" {
		t.Fatalf("third caller: %#v, want Unavailable %s caused by ErrQueueFull with retryAfterSeconds", err, ReasonHasherBusy)
	}
	h.slots.Release(1)
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Errorf("a waiter in the queue: %v, want served", err)
		}
	}
	if n := h.waiting.Load(); n != 0 {
		t.Errorf("waiting = %d after all returned, want 0", n)
	}

}

// Enter admits pool size + queue callers at once, refuses the next at
// once, and admits again when one leaves.
func TestHasher_EnterAdmitsPoolPlusQueue(t *testing.T) {
	h := NewHasher(fastParams, 2, 3)
	var leaves []func()
	for i := range 5 {
		leave, err := h.Enter()
		if err != nil {
			t.Fatalf("caller %d refused: %v", i+1, err)
		}
		leaves = append(leaves, leave)
	}
	_, err := h.Enter()
	var e *errs.Error
	if !errors.As(err, &e) || e.Reason != ReasonHasherBusy || !errors.Is(err, ErrQueueFull) {
		t.Fatalf("sixth caller: %v, want busy", err)
	}
	leaves[0]()
	leave, err := h.Enter()
	if err != nil {
		t.Fatalf("after one left: %v, want admitted", err)
	}
	leave()
}

// TestHasher_PoolBoundsConcurrentComputations checks that with 2 slots at
// most 2 computations overlap, and that the pool is really used (2 do).
func TestHasher_PoolBoundsConcurrentComputations(t *testing.T) {
	h := newTestHasher(t, fastParams, 2)
	var running, peak atomic.Int32
	h.hook = func(start bool) {
		if !start {
			running.Add(-1)
			return
		}
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		// Hold the slot long enough for the others to pile up behind it;
		// this widens the window, the bound itself does not depend on it.
		time.Sleep(5 * time.Millisecond)
	}
	var wg sync.WaitGroup
	errc := make(chan error, 10)
	for range 10 {
		wg.Go(func() {
			_, err := h.Hash(t.Context(), "pw")
			errc <- err
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := peak.Load(); got != 2 {
		t.Errorf("peak concurrent computations = %d, want 2", got)
	}
}

func TestHasher_WaiterGivesUpAtDeadline(t *testing.T) {
	h := newTestHasher(t, fastParams, 1)
	// Take the only slot, as a long computation would.
	if err := h.slots.Acquire(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	defer h.slots.Release(1)

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	ok, _, err := h.Verify(ctx, vecBcrypt2b, "correct horse")
	elapsed := time.Since(start)
	if ok || !errs.Is(err, errs.KindUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Verify = %v, %v; want false, Unavailable caused by deadline", ok, err)
	}
	if e := new(errs.Error); errors.As(err, &e) && e.Reason != ReasonHasherBusy {
		t.Errorf("reason = %s, want %s", e.Reason, ReasonHasherBusy)
	}
	if elapsed > 2*time.Second {
		t.Errorf("waited %v, want about the 50ms deadline", elapsed)
	}

	// An already expired context fails at once, even for DummyVerify.
	done, cancel2 := context.WithCancel(t.Context())
	cancel2()
	if err := h.DummyVerify(done, "x"); !errs.Is(err, errs.KindUnavailable) || !errors.Is(err, context.Canceled) {
		t.Errorf("DummyVerify(canceled) = %v, want Unavailable caused by Canceled", err)
	}
}

func TestHasher_ExpiredContextNeverComputesEvenWhenFree(t *testing.T) {
	h := newTestHasher(t, fastParams, 4)
	var calls atomic.Int32
	h.hook = func(start bool) {
		if start {
			calls.Add(1)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for range 20 {
		if _, err := h.Hash(ctx, "pw"); err == nil {
			t.Fatal("Hash with a canceled context succeeded")
		}
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("%d computations ran for canceled callers, want 0", n)
	}
}

func TestHasher_LegacyHashWithMoreMemoryTakesMoreSlots(t *testing.T) {
	h := newTestHasher(t, Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 4)
	tests := []struct {
		encoded string
		want    int64
	}{
		{vecArgon2i, 4},    // m=4096: four times the current memory
		{vecArgon2idP2, 4}, // m=8192 would be 8, capped at the pool size
		{vecBcrypt2b, 1},   // bcrypt needs 4 KiB
		{h.dummy, 1},       // current params
		{"$argon2id$v=19$m=2048,t=1,p=3$c29tZXNhbHRzb21lc2FsdA$k9ohroejZy1PN5E1SbHNPug6vB8eQAahb5SOAp6iGF4", 3}, // three lanes
	}
	for _, tt := range tests {
		d, err := parse(tt.encoded, h.limits)
		if err != nil {
			t.Fatal(err)
		}
		if got := max(1, min(d.weight(h.params), h.size)); got != tt.want {
			t.Errorf("weight(%.20s…) = %d, want %d", tt.encoded, got, tt.want)
		}
	}
}

func TestDummyVerify_TakesAboutAsLongAsVerify(t *testing.T) {
	if testing.Short() {
		t.Skip("times real Argon2id")
	}
	h := newTestHasher(t, DefaultParams, 1)
	enc, err := h.Hash(t.Context(), "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	measure := func(f func() error) time.Duration {
		const n = 5
		start := time.Now()
		for range n {
			if err := f(); err != nil {
				t.Fatal(err)
			}
		}
		return time.Since(start) / n
	}
	real := measure(func() error { _, _, err := h.Verify(t.Context(), enc, "wrong horse"); return err })
	dummy := measure(func() error { return h.DummyVerify(t.Context(), "wrong horse") })
	// The time is logged, not asserted (a loaded machine skews any
	// ratio); what makes the two alike is asserted instead: the dummy
	// hash has exactly the cost of a current one.
	t.Logf("Verify %v, DummyVerify %v, ratio %.2f", real, dummy, float64(dummy)/float64(real))
	d, err := parseArgon2(h.dummy, h.limits)
	if err != nil {
		t.Fatal(err)
	}
	a := d.(argon2Digest)
	if a.memory != h.params.Memory || a.time != h.params.Time || a.threads != h.params.Threads || a.variant != variantArgon2id {
		t.Errorf("dummy hash %+v does not cost what %+v costs", a, h.params)
	}
	if ok, _, _ := h.Verify(t.Context(), h.dummy, ""); ok {
		t.Error("the dummy hash matched the empty password")
	}
}

func TestMatchesAny(t *testing.T) {
	h := newTestHasher(t, fastParams, 2)
	var history []string
	for _, pw := range []string{"first", "second", "third"} {
		enc, err := h.Hash(t.Context(), pw)
		if err != nil {
			t.Fatal(err)
		}
		history = append(history, enc)
	}
	history = append(history, vecBcrypt2b) // an imported legacy hash counts too
	tests := []struct {
		name    string
		plain   string
		history []string
		want    bool
		wantErr bool
	}{
		{"oldest", "first", history, true, false},
		{"newest", "third", history, true, false},
		{"legacy", "correct horse", history, true, false},
		{"new password", "fourth", history, false, false},
		{"empty history", "first", nil, false, false},
		{"case matters", "First", history, false, false},
		{"damaged entry", "fourth", append([]string{"garbage"}, history...), false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := h.MatchesAny(t.Context(), tt.plain, tt.history)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("MatchesAny = %v, %v; want %v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestParams_Validate(t *testing.T) {
	tests := []struct {
		p    Params
		good bool
	}{
		{DefaultParams, true},
		{fastParams, true},
		{Params{Memory: 65536, Time: 3, Threads: 4, SaltLen: 16, KeyLen: 32}, true},
		{Params{Memory: 19456, Time: 0, Threads: 1, SaltLen: 16, KeyLen: 32}, false},
		{Params{Memory: 19456, Time: 2, Threads: 0, SaltLen: 16, KeyLen: 32}, false},
		{Params{Memory: 7, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}, false},
		{Params{Memory: 2 << 20, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, false},
		{Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 4, KeyLen: 32}, false},
		{Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 8}, false},
	}
	for _, tt := range tests {
		if err := tt.p.Validate(); (err == nil) != tt.good {
			t.Errorf("%+v.Validate() = %v, want good=%v", tt.p, err, tt.good)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("NewHasher with invalid params did not panic")
		}
	}()
	NewHasher(Params{}, 1, 0)
}

// FuzzVerify feeds Verify arbitrary encodings: it must return an error or a
// result, never panic, and agree with ValidateLegacy.
func FuzzVerify(f *testing.F) {
	for _, s := range []string{
		vecArgon2idDefault, vecArgon2idP2, vecArgon2i, vecBcrypt2a, vecBcrypt2b, vecBcrypt2y,
		vecPasslib, vecDjango, "", "$", "$$$$$", "$argon2id$", "$argon2id$v=19$m=,t=,p=$$",
		"$argon2id$v=19$m=8,t=1,p=1$$", "$argon2i$v=19$m=4294967295,t=4294967295,p=255$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA",
		"$2b$", "$2b$99$" + strings.Repeat(".", 53), "$2a$04$" + strings.Repeat("\xff", 53),
		"$pbkdf2-sha256$$$", "$pbkdf2-sha256$1$$", "pbkdf2_sha256$$$", "pbkdf2_sha256$1$s$====",
		"pbkdf2_sha256$1$s$" + base64.StdEncoding.EncodeToString(make([]byte, 16)),
	} {
		f.Add(s, "correct horse")
	}
	h := newTestHasher(f, fastParams, 2)
	// Cheap bounds so the fuzzer cannot make each input take seconds; the
	// parsing paths are the same as with the real ones.
	h.limits = limits{argonMemory: 1024, argonTime: 2, bcryptCost: 5, pbkdf2Iter: 2000}
	f.Fuzz(func(t *testing.T, encoded, plain string) {
		ok, rehash, err := h.Verify(context.Background(), encoded, plain)
		if err != nil && (ok || rehash) {
			t.Fatalf("Verify returned %v, %v with error %v", ok, rehash, err)
		}
		if err == nil {
			if verr := ValidateLegacy(encoded, LegacyHashField); verr != nil {
				t.Fatalf("Verify accepted what ValidateLegacy refuses: %v", verr)
			}
		}
	})
}

func BenchmarkHash(b *testing.B) {
	h := NewHasher(DefaultParams, 1, 0)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Hash(b.Context(), "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHash_Pool is the raw Argon2id rate of the machine through a pool
// sized to the cores, the figure the log-in benchmark compares itself with.
func BenchmarkHash_Pool(b *testing.B) {
	h := NewHasher(DefaultParams, 0, 0)
	b.ReportAllocs()
	b.SetParallelism(2) // twice as many callers as slots, as under load
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := h.Hash(context.Background(), "correct horse battery staple"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	h := NewHasher(DefaultParams, 1, 0)
	current, err := h.Hash(b.Context(), "correct horse")
	if err != nil {
		b.Fatal(err)
	}
	bc10, _ := bcrypt.GenerateFromPassword([]byte("correct horse"), 10)
	bc12, _ := bcrypt.GenerateFromPassword([]byte("correct horse"), 12)
	django := func(iter int) string {
		dk, _ := pbkdf2.Key(sha256.New, "correct horse", []byte("benchsalt"), iter, 32)
		return fmt.Sprintf("pbkdf2_sha256$%d$benchsalt$%s", iter, base64.StdEncoding.EncodeToString(dk))
	}
	for _, bb := range []struct{ name, encoded string }{
		{"argon2id-current", current},
		{"argon2i-m4096-t3", vecArgon2i},
		{"bcrypt-10", string(bc10)},
		{"bcrypt-12", string(bc12)},
		{"passlib-pbkdf2-29000", vecPasslib},
		{"django-pbkdf2-260000", vecDjango},
		{"django-pbkdf2-1000000", django(1_000_000)},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if ok, _, err := h.Verify(b.Context(), bb.encoded, "correct horse"); !ok || err != nil {
					b.Fatal(ok, err)
				}
			}
		})
	}
}

// Callers get the slots in the order they came (FIFO), so that a log-in's
// wait is bounded by the line ahead of it, never by luck: with one slot
// held, ten callers queue one after another and are served in that order.
func TestHasher_WaitersServedInArrivalOrder(t *testing.T) {
	h := NewHasher(fastParams, 1, 20)
	if err := h.slots.Acquire(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	// turn makes each computation wait until the caller before it has
	// noted its return, so the notes follow the order of the slots.
	turn := make(chan struct{}, 1)
	turn <- struct{}{}
	h.hook = func(running bool) {
		if running {
			<-turn
		}
	}
	var mu sync.Mutex
	var order []int
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			if _, err := h.Hash(t.Context(), "pw"); err != nil {
				t.Error(err)
			}
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			turn <- struct{}{}
		})
		for h.waiting.Load() < int64(i+1) { // i has joined the line
			time.Sleep(time.Millisecond)
		}
	}
	h.slots.Release(1)
	wg.Wait()
	for i, got := range order {
		if got != i {
			t.Fatalf("served in order %v, want 0…9", order)
		}
	}
}
