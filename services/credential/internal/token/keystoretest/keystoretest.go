// Package keystoretest is the conformance suite every token.KeyStore
// passes: the in-memory one here and the SQL ones of the store packages.
package keystoretest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"slices"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/services/credential/internal/token"
)

// Run runs the suite; newStore returns a fresh, empty store for each
// subtest.
func Run(t *testing.T, newStore func(t *testing.T) token.KeyStore) {
	ctx := context.Background()
	t.Run("EmptyStoreListsNothing", func(t *testing.T) {
		keys, err := newStore(t).ListKeys(ctx)
		if err != nil || len(keys) != 0 {
			t.Fatalf("ListKeys = %v, %v; want none", keys, err)
		}
	})
	t.Run("KeepsEveryFieldExactly", func(t *testing.T) {
		s := newStore(t)
		a, b := Key(t, time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)), Key(t, time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
		// A plaintext key as a version before encryption at rest stored
		// it: no KEK id, no retirement time.
		c := Plaintext(t, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
		want := []token.StoredKey{a, b, c}
		addAll(t, s, want...)
		got := sorted(t, s)
		if len(got) != len(want) {
			t.Fatalf("ListKeys: %d keys, want %d", len(got), len(want))
		}
		for n := range want {
			if !same(got[n], want[n]) {
				t.Errorf("key %d (%s) read back with other fields or bytes than written (%s)", n, got[n].ID, want[n].ID)
			}
		}
	})
	t.Run("AddSameIDTwiceFails", func(t *testing.T) {
		s := newStore(t)
		k := Key(t, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		if err := s.AddKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		if err := s.AddKey(ctx, k); err == nil {
			t.Fatal("second AddKey of the same id succeeded")
		}
	})
	t.Run("AddKeyIfNewest_OneOfManyAtOnce", func(t *testing.T) {
		s := newStore(t)
		at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		// Replicas finding the ring empty at once: one key is added.
		const n = 20
		results := make(chan error, n)
		wins := make(chan bool, n)
		for range n {
			k := Key(t, at)
			go func() {
				ok, err := s.AddKeyIfNewest(ctx, k, "")
				wins <- ok
				results <- err
			}()
		}
		won := 0
		for range n {
			if err := <-results; err != nil {
				t.Fatalf("AddKeyIfNewest: %v", err)
			}
			if <-wins {
				won++
			}
		}
		got := sorted(t, s)
		if won != 1 || len(got) != 1 {
			t.Fatalf("%d of %d parallel adders won, %d keys stored; want one of each", won, n, len(got))
		}
		// Due for rotation: only an adder that saw the newest key adds.
		if ok, err := s.AddKeyIfNewest(ctx, Key(t, at.Add(time.Hour)), "some-older-key"); err != nil || ok {
			t.Fatalf("an adder with a stale view: added %v, %v; want not added", ok, err)
		}
		next := Key(t, at.Add(time.Hour))
		if ok, err := s.AddKeyIfNewest(ctx, next, got[0].ID); err != nil || !ok {
			t.Fatalf("an adder that saw the newest key: added %v, %v", ok, err)
		}
		if got := sorted(t, s); len(got) != 2 || got[1].ID != next.ID {
			t.Fatalf("after the rotation: %v, want %s newest", ids(got), next.ID)
		}
	})
	t.Run("DeleteRemovesOnlyThatKeyAndIsIdempotent", func(t *testing.T) {
		s := newStore(t)
		a, b := Key(t, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), Key(t, time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC))
		addAll(t, s, a, b)
		if err := s.DeleteKey(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteKey(ctx, a.ID); err != nil {
			t.Fatalf("deleting a deleted key: %v; want no error", err)
		}
		if err := s.DeleteKey(ctx, "never-stored"); err != nil {
			t.Fatalf("deleting an unknown key: %v; want no error", err)
		}
		got := sorted(t, s)
		if len(got) != 1 || got[0].ID != b.ID {
			t.Fatalf("after delete: %d keys (%v), want only %s", len(got), ids(got), b.ID)
		}
	})
	t.Run("ResealReplacesOnlyTheSealedKeyOfThatKey", func(t *testing.T) {
		s := newStore(t)
		a, b := Plaintext(t, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), Key(t, time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC))
		addAll(t, s, a, b)
		resealed := a
		resealed.KEKID, resealed.Sealed = "kek-2", randomBytes(t, 60)
		// Only the sealed key counts: other fields given are ignored.
		changed := resealed
		changed.CreatedAt, changed.RetireAt = changed.CreatedAt.Add(time.Hour), changed.CreatedAt.Add(time.Hour)
		if err := s.ResealKey(ctx, changed); err != nil {
			t.Fatal(err)
		}
		if err := s.ResealKey(ctx, token.StoredKey{ID: "never-stored", KEKID: "kek-2", Sealed: randomBytes(t, 60)}); err != nil {
			t.Fatalf("resealing an unknown key: %v; want no error", err)
		}
		got := sorted(t, s)
		if len(got) != 2 || !same(got[0], resealed) || !same(got[1], b) {
			t.Fatalf("after reseal: %v, want %s resealed and %s unchanged", ids(got), a.ID, b.ID)
		}
	})
}

func addAll(t *testing.T, s token.KeyStore, keys ...token.StoredKey) {
	t.Helper()
	for _, k := range keys {
		if err := s.AddKey(context.Background(), k); err != nil {
			t.Fatalf("AddKey: %v", err)
		}
	}
}

// Key returns a stored key created at at (normalized as stores keep
// times), retiring 30 days later, whose sealed bytes are random: stores
// keep them without looking inside.
func Key(t testing.TB, at time.Time) token.StoredKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	at = clock.Normalize(at)
	return token.StoredKey{ID: token.KeyID(pub), KEKID: "kek-1", Sealed: randomBytes(t, 60), CreatedAt: at, RetireAt: at.Add(30 * 24 * time.Hour)}
}

// Plaintext returns a key as a version before encryption at rest stored
// it: the private key itself, no KEK id and no retirement time.
func Plaintext(t testing.TB, at time.Time) token.StoredKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return token.StoredKey{ID: token.KeyID(pub), Sealed: priv, CreatedAt: clock.Normalize(at)}
}

func randomBytes(t testing.TB, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func sorted(t *testing.T, s token.KeyStore) []token.StoredKey {
	t.Helper()
	keys, err := s.ListKeys(context.Background())
	if err != nil {
		t.Fatalf("ListKeys: %v", err)
	}
	slices.SortFunc(keys, func(a, b token.StoredKey) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return keys
}

func same(a, b token.StoredKey) bool {
	return a.ID == b.ID && a.KEKID == b.KEKID && bytes.Equal(a.Sealed, b.Sealed) && a.CreatedAt.Equal(b.CreatedAt) && a.RetireAt.Equal(b.RetireAt)
}

func ids(keys []token.StoredKey) []string {
	out := make([]string, len(keys))
	for n, k := range keys {
		out[n] = k.ID
	}
	return out
}
