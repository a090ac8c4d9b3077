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
		for _, k := range []token.SigningKey{a, b} {
			if err := s.AddKey(ctx, k); err != nil {
				t.Fatalf("AddKey: %v", err)
			}
		}
		got := sorted(t, s)
		if len(got) != 2 {
			t.Fatalf("ListKeys: %d keys, want 2", len(got))
		}
		for n, want := range []token.SigningKey{a, b} {
			if !same(got[n], want) {
				t.Errorf("key %d (%s) read back with other fields or bytes than written (%s)", n, got[n].ID, want.ID)
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
	t.Run("DeleteRemovesOnlyThatKeyAndIsIdempotent", func(t *testing.T) {
		s := newStore(t)
		a, b := Key(t, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), Key(t, time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC))
		for _, k := range []token.SigningKey{a, b} {
			if err := s.AddKey(ctx, k); err != nil {
				t.Fatal(err)
			}
		}
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
}

// Key returns a fresh signing key created at at (normalized as stores keep
// times), retiring 30 days later.
func Key(t testing.TB, at time.Time) token.SigningKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	at = clock.Normalize(at)
	return token.SigningKey{ID: token.KeyID(pub), Private: priv, CreatedAt: at, RetireAt: at.Add(30 * 24 * time.Hour)}
}

func sorted(t *testing.T, s token.KeyStore) []token.SigningKey {
	t.Helper()
	keys, err := s.ListKeys(context.Background())
	if err != nil {
		t.Fatalf("ListKeys: %v", err)
	}
	slices.SortFunc(keys, func(a, b token.SigningKey) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return keys
}

func same(a, b token.SigningKey) bool {
	return a.ID == b.ID && bytes.Equal(a.Private, b.Private) && a.CreatedAt.Equal(b.CreatedAt) && a.RetireAt.Equal(b.RetireAt)
}

func ids(keys []token.SigningKey) []string {
	out := make([]string, len(keys))
	for n, k := range keys {
		out[n] = k.ID
	}
	return out
}
