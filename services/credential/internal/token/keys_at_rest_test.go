package token_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/keyring"
	"github.com/latchkey/latchkey/services/credential/internal/token"
	"github.com/latchkey/latchkey/services/credential/internal/token/keystoretest"
)

// testKEK is the ring newIssuer gives an issuer that names none.
var testKEK, _ = keyring.Parse("test:" + keyring.Generate())

func ring(t testing.TB, spec string) *keyring.Ring {
	t.Helper()
	r, err := keyring.Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// assertSealed fails when a key of store is kept in plaintext.
func assertSealed(t *testing.T, store token.KeyStore) {
	t.Helper()
	keys, err := store.ListKeys(context.Background())
	if err != nil || len(keys) == 0 {
		t.Fatalf("ListKeys = %d keys, %v", len(keys), err)
	}
	for _, k := range keys {
		if k.KEKID == "" || len(k.Sealed) == ed25519.PrivateKeySize {
			t.Errorf("key %s stored unsealed (KEK id %q, %d bytes)", k.ID, k.KEKID, len(k.Sealed))
		}
	}
}

func TestIssuer_StoresPrivateKeysSealed(t *testing.T) {
	store := token.NewMemoryKeyStore()
	iss := newIssuer(t, store, clock.NewFake(t0), token.Options{})
	if err := iss.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	assertSealed(t, store)
	keys, _ := store.ListKeys(context.Background())
	if keys[0].KEKID != testKEK.Primary() {
		t.Fatalf("sealed under %q, want the ring's first KEK %q", keys[0].KEKID, testKEK.Primary())
	}
}

func TestIssuer_SealsPlaintextKeysOfAnOlderVersion(t *testing.T) {
	ctx := context.Background()
	store := token.NewMemoryKeyStore()
	old := keystoretest.Plaintext(t, t0)
	if err := store.AddKey(ctx, old); err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(t0.Add(time.Hour))
	iss := newIssuer(t, store, clk, token.Options{})
	if err := iss.Start(ctx); err != nil {
		t.Fatal(err)
	}
	keys, _ := store.ListKeys(ctx)
	if len(keys) != 1 || keys[0].ID != old.ID {
		t.Fatalf("stored keys %v; want the old key alone, kept", keys)
	}
	if keys[0].KEKID != testKEK.Primary() || bytes.Contains(keys[0].Sealed, ed25519.PrivateKey(old.Sealed).Seed()) {
		t.Fatalf("the plaintext key was not sealed: KEK id %q", keys[0].KEKID)
	}
	// The same key goes on signing, so tokens issued before the upgrade
	// still verify.
	tok, _, err := iss.Issue(ctx, claims("s", clk.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if header(t, tok)["kid"] != old.ID {
		t.Fatalf("signed with %v; want the old key %s", header(t, tok)["kid"], old.ID)
	}
	if _, err := verifierOver(t, iss, clk).Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
}

func TestIssuer_TokenVerifiesAfterRestart(t *testing.T) {
	ctx := context.Background()
	store := token.NewMemoryKeyStore()
	clk := clock.NewFake(t0)
	before := newIssuer(t, store, clk, token.Options{})
	tok, _, err := before.Issue(ctx, claims("s", t0))
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	after := newIssuer(t, store, clk, token.Options{})
	if err := after.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := verifierOver(t, after, clk).Verify(ctx, tok); err != nil {
		t.Fatalf("token issued before the restart: %v", err)
	}
}

func TestIssuer_KEKThatDoesNotOpenTheKeysStopsStart(t *testing.T) {
	ctx := context.Background()
	a, b := keyring.Generate(), keyring.Generate()
	tests := []struct {
		name string
		// alter changes the store after a key was sealed under "a:"+a.
		alter func(t *testing.T, s *token.MemoryKeyStore)
		kek   string
	}{
		{name: "another key under the same id", kek: "a:" + b},
		{name: "the key's KEK missing from the ring", kek: "b:" + b},
		{name: "sealed keys swapped between rows", kek: "a:" + a, alter: swapSealed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := token.NewMemoryKeyStore()
			clk := clock.NewFake(t0)
			first := newIssuer(t, store, clk, token.Options{KEK: ring(t, "a:"+a), RotateEvery: time.Hour})
			if err := first.Start(ctx); err != nil {
				t.Fatal(err)
			}
			clk.Advance(time.Hour) // a second key, for the swap
			if err := newIssuer(t, store, clk, token.Options{KEK: ring(t, "a:"+a), RotateEvery: time.Hour}).Start(ctx); err != nil {
				t.Fatal(err)
			}
			if tt.alter != nil {
				tt.alter(t, store)
			}
			err := newIssuer(t, store, clk, token.Options{KEK: ring(t, tt.kek), RotateEvery: time.Hour}).Start(ctx)
			if !errors.Is(err, token.ErrKEK) {
				t.Fatalf("Start = %v; want ErrKEK", err)
			}
			if keys, _ := store.ListKeys(ctx); len(keys) != 2 {
				t.Fatalf("a failed start left %d keys; want the 2 there were", len(keys))
			}
		})
	}
}

func swapSealed(t *testing.T, s *token.MemoryKeyStore) {
	t.Helper()
	ctx := context.Background()
	keys, _ := s.ListKeys(ctx)
	if len(keys) != 2 {
		t.Fatalf("%d keys; want 2", len(keys))
	}
	x, y := keys[0], keys[1]
	x.Sealed, y.Sealed = y.Sealed, x.Sealed
	for _, k := range []token.StoredKey{x, y} {
		if err := s.ResealKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
}

func TestIssuer_KEKRotationSealsAgainUnderTheFirstKey(t *testing.T) {
	ctx := context.Background()
	oldKEK, newKEK := "old:"+keyring.Generate(), "new:"+keyring.Generate()
	store := token.NewMemoryKeyStore()
	clk := clock.NewFake(t0)
	before := newIssuer(t, store, clk, token.Options{KEK: ring(t, oldKEK)})
	tok, _, err := before.Issue(ctx, claims("s", t0))
	if err != nil {
		t.Fatal(err)
	}
	// Step 1: the new KEK first, the old one still there to open.
	if err := newIssuer(t, store, clk, token.Options{KEK: ring(t, newKEK+","+oldKEK)}).Start(ctx); err != nil {
		t.Fatal(err)
	}
	if keys, _ := store.ListKeys(ctx); len(keys) != 1 || keys[0].KEKID != "new" {
		t.Fatalf("after loading with the rotated ring: %+v; want the key sealed under new", keys)
	}
	// Step 2: the old KEK dropped.
	after := newIssuer(t, store, clk, token.Options{KEK: ring(t, newKEK)})
	if err := after.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := verifierOver(t, after, clk).Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
}

func TestRotate(t *testing.T) {
	ctx := context.Background()
	for _, retire := range []bool{false, true} {
		store := token.NewMemoryKeyStore()
		clk := clock.NewFake(t0)
		iss := newIssuer(t, store, clk, token.Options{})
		v := verifierOver(t, iss, clk)
		oldTok, _, err := iss.Issue(ctx, claims("s", t0))
		if err != nil {
			t.Fatal(err)
		}
		oldKid := header(t, oldTok)["kid"].(string)

		clk.Advance(time.Second)
		r, err := token.Rotate(ctx, store, testKEK, clk.Now(), 0, retire)
		if err != nil {
			t.Fatal(err)
		}
		if wantRetired := []string{oldKid}; retire != slices.Equal(r.Retired, wantRetired) || (!retire && len(r.Retired) != 0) {
			t.Fatalf("retire=%v: Retired = %v", retire, r.Retired)
		}
		iss.InvalidateKeys()
		newTok, _, err := iss.Issue(ctx, claims("s", clk.Now()))
		if err != nil {
			t.Fatal(err)
		}
		if got := header(t, newTok)["kid"]; got != r.Current || got == oldKid {
			t.Fatalf("retire=%v: signed with %v after the rotation; want the new key %s at once", retire, got, r.Current)
		}
		published := kids(t, iss)
		if retire == slices.Contains(published, oldKid) {
			t.Fatalf("retire=%v: JWKS %v (old key %s)", retire, published, oldKid)
		}
		if _, err := v.Verify(ctx, newTok); err != nil {
			t.Fatalf("retire=%v: token of the new key: %v", retire, err)
		}
	}
}

func TestRotate_WrongKEKChangesNothing(t *testing.T) {
	ctx := context.Background()
	store := token.NewMemoryKeyStore()
	if err := newIssuer(t, store, clock.NewFake(t0), token.Options{}).Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := token.Rotate(ctx, store, ring(t, "other:"+keyring.Generate()), t0, 0, true); !errors.Is(err, token.ErrKEK) {
		t.Fatalf("Rotate with another KEK = %v; want ErrKEK", err)
	}
	if keys, _ := store.ListKeys(ctx); len(keys) != 1 {
		t.Fatalf("%d keys after a refused rotation; want the 1 there was", len(keys))
	}
}
