package sqlstore_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/keyring"
	"github.com/latchkey/latchkey/libs/testkit"
	"github.com/latchkey/latchkey/services/credential/internal/store/sqlstore"
	"github.com/latchkey/latchkey/services/credential/internal/token"
)

type rawKey struct {
	id   string
	priv []byte
}

func rawKeys(t *testing.T, db dbx.DB) []rawKey {
	t.Helper()
	rows, err := db.Query(context.Background(), "SELECT id, private_key FROM signing_keys ORDER BY created_at")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []rawKey
	for rows.Next() {
		var k rawKey
		if err := rows.Scan(&k.id, &k.priv); err != nil {
			t.Fatal(err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// assertNoPlaintextKey fails when a row's private_key holds, anywhere, the
// seed of the key its id names: a private key in the clear (an Ed25519
// private key is its 32-byte seed followed by the public key).
func assertNoPlaintextKey(t *testing.T, db dbx.DB) {
	t.Helper()
	keys := rawKeys(t, db)
	if len(keys) == 0 {
		t.Fatal("no signing key stored")
	}
	for _, k := range keys {
		for i := 0; i+ed25519.SeedSize <= len(k.priv); i++ {
			pub := ed25519.NewKeyFromSeed(k.priv[i : i+ed25519.SeedSize]).Public().(ed25519.PublicKey)
			if token.KeyID(pub) == k.id {
				t.Fatalf("signing key %s is stored in plaintext (its seed at byte %d of private_key)", k.id, i)
			}
		}
	}
}

func startIssuer(t *testing.T, db dbx.DB, opts token.Options) (*token.Issuer, error) {
	t.Helper()
	opts.Issuer, opts.Audience, opts.Logger = "test", "test", slog.New(slog.DiscardHandler)
	iss, err := token.NewIssuer(sqlstore.New(db, nil).Keys(), clock.NewFake(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)), opts)
	if err != nil {
		t.Fatal(err)
	}
	return iss, iss.Start(context.Background())
}

func TestSigningKeys_DatabaseHoldsNoPlaintextPrivateKey(t *testing.T) {
	testkit.EachMigratedDialect(t, "credential", sqlstore.Migrate, func(t *testing.T, db dbx.DB) {
		if _, err := startIssuer(t, db, token.Options{}); err != nil {
			t.Fatal(err)
		}
		assertNoPlaintextKey(t, db)
	})
}

// A key stored in plaintext by the version before encryption at rest is
// sealed on the first start, and keeps its id (its tokens still verify).
func TestSigningKeys_PlaintextKeyOfAnOlderVersionIsSealedOnStart(t *testing.T) {
	testkit.EachMigratedDialect(t, "credential", sqlstore.Migrate, func(t *testing.T, db dbx.DB) {
		ctx := context.Background()
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		created := time.Date(2026, 4, 30, 0, 0, 0, 0, time.UTC)
		// The row as the older version wrote it.
		if _, err := db.Exec(ctx, "INSERT INTO signing_keys (id, private_key, created_at, retire_at) VALUES ($1, $2, $3, $4)",
			token.KeyID(pub), []byte(priv), created, created.Add(30*24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		iss, err := startIssuer(t, db, token.Options{})
		if err != nil {
			t.Fatal(err)
		}
		assertNoPlaintextKey(t, db)
		keys, err := iss.Keys(ctx)
		if err != nil || len(keys) != 1 || !keys[token.KeyID(pub)].Equal(pub) {
			t.Fatalf("published keys %v, %v; want the old key alone", keys, err)
		}
	})
}

// The sealed key is bound to its row's id: two rows whose sealed keys were
// swapped do not open.
func TestSigningKeys_SwappedRowsStopTheStart(t *testing.T) {
	testkit.EachMigratedDialect(t, "credential", sqlstore.Migrate, func(t *testing.T, db dbx.DB) {
		ctx := context.Background()
		st := sqlstore.New(db, nil)
		// Two keys sealed under one KEK ring.
		kek, err := keyring.Parse(keyring.Generate())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := startIssuer(t, db, token.Options{KEK: kek}); err != nil {
			t.Fatal(err)
		}
		if _, err := token.Rotate(ctx, st.Keys(), kek, time.Date(2026, 5, 1, 0, 0, 1, 0, time.UTC), 0, false); err != nil {
			t.Fatal(err)
		}
		keys := rawKeys(t, db)
		if len(keys) != 2 {
			t.Fatalf("%d keys; want 2", len(keys))
		}
		for _, swap := range [][2]int{{0, 1}, {1, 0}} {
			if _, err := db.Exec(ctx, "UPDATE signing_keys SET private_key = $1 WHERE id = $2", keys[swap[1]].priv, keys[swap[0]].id); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := startIssuer(t, db, token.Options{KEK: kek}); !errors.Is(err, token.ErrKEK) {
			t.Fatalf("Start over swapped rows = %v; want ErrKEK", err)
		}
	})
}
