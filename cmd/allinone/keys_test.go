package allinone_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/cmd/allinone"
	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/keyring"
	"github.com/latchkey/latchkey/libs/testkit"
	credential "github.com/latchkey/latchkey/services/credential/server"
)

// kidOf is the key id in an access token's header.
func kidOf(t *testing.T, token string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h struct{ Kid string }
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h.Kid
}

// jwks returns the published public keys by id.
func jwks(t *testing.T, anon client) map[string]ed25519.PublicKey {
	t.Helper()
	st, body := anon.do("GET", "/.well-known/jwks.json", nil)
	if st != 200 {
		t.Fatalf("JWKS: %d %v", st, body)
	}
	keys := map[string]ed25519.PublicKey{}
	for _, k := range items(body, "keys") {
		m := k.(map[string]any)
		x, err := base64.RawURLEncoding.DecodeString(m["x"].(string))
		if err != nil {
			t.Fatal(err)
		}
		keys[m["kid"].(string)] = x
	}
	return keys
}

func jwksKids(t *testing.T, anon client) []string {
	t.Helper()
	var kids []string
	for kid := range jwks(t, anon) {
		kids = append(kids, kid)
	}
	return kids
}

// keysConfig is the suite's configuration on PostgreSQL or SQLite, kept
// by the test to run `latchkey keys` and to start the suite again.
func keysConfig(t *testing.T, pg bool) allinone.Config {
	t.Helper()
	natsURL := testkit.NATS(t).URL
	cfg := allinone.Config{
		Edge: loopbackEdge, DataDir: t.TempDir(), NATSURL: natsURL, NATSNames: testNames(t, natsURL),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if pg {
		cfg.PostgresURL = testkit.Postgres(t).URL
	}
	return cfg
}

// signedIn starts the suite and signs a tenant's first admin in; it
// returns the suite's configuration, an anonymous client, the tenant code
// and the admin's tokens.
func signedIn(t *testing.T, pg bool) (allinone.Config, *allinone.Instance, client, string, map[string]any) {
	t.Helper()
	cfg := keysConfig(t, pg)
	inst := startWithConfig(t, false, cfg)
	op := client{t: t, base: inst.HTTPURL, token: inst.OperatorToken}
	anon := client{t: t, base: inst.HTTPURL}
	code := tenantWithAdmin(t, op, nil)
	return cfg, inst, anon, code, finishFirstLogin(t, anon, code)
}

// A leaked signing key is retired with `latchkey keys rotate
// --retire-current`: it leaves JWKS at once, its tokens are refused within
// a second by the account service (GET /v1/me) and the credential service
// (GET /v1/me/sessions), and the new key signs at once.
func TestKeysRotate_RetireCurrentRefusesItsTokensWithinOneSecond(t *testing.T) {
	for _, pg := range []bool{true, false} {
		t.Run(map[bool]string{true: "postgres", false: "sqlite"}[pg], func(t *testing.T) {
			cfg, inst, anon, _, tokens := signedIn(t, pg)
			leaked := client{t: t, base: inst.HTTPURL, token: tokens["accessToken"].(string)}
			leakedKid := kidOf(t, leaked.token)
			for _, path := range []string{"/v1/me", "/v1/me/sessions"} {
				if st, body := leaked.do("GET", path, nil); st != 200 {
					t.Fatalf("GET %s before the rotation: %d %v", path, st, body)
				}
			}

			r, err := allinone.RotateSigningKey(context.Background(), cfg, true)
			if err != nil {
				t.Fatal(err)
			}
			if !r.Published || !slices.Equal(r.Retired, []string{leakedKid}) || r.Current == leakedKid {
				t.Fatalf("rotation %+v; want %s retired, a new key current, the event published", r, leakedKid)
			}
			for _, path := range []string{"/v1/me", "/v1/me/sessions"} {
				waitStatus(t, func() int { st, _ := leaked.do("GET", path, nil); return st }, 401)
			}
			if kids := jwksKids(t, anon); slices.Contains(kids, leakedKid) || !slices.Contains(kids, r.Current) {
				t.Fatalf("JWKS after the rotation: %v; want %s and not %s", kids, r.Current, leakedKid)
			}
			// The session lives on: a refresh gets a token of the new key,
			// which every service accepts at once.
			st, body := anon.do("POST", "/v1/auth/token:refresh", map[string]any{"refreshToken": tokens["refreshToken"]})
			if st != 200 {
				t.Fatalf("refresh after the rotation: %d %v", st, body)
			}
			fresh := client{t: t, base: inst.HTTPURL, token: body["accessToken"].(string)}
			if kid := kidOf(t, fresh.token); kid != r.Current {
				t.Fatalf("new token signed with %s; want the new key %s", kid, r.Current)
			}
			for _, path := range []string{"/v1/me", "/v1/me/sessions"} {
				if st, body := fresh.do("GET", path, nil); st != 200 {
					t.Fatalf("GET %s with a token of the new key: %d %v", path, st, body)
				}
			}
		})
	}
}

// Without --retire-current the old key keeps verifying its tokens while a
// new one signs.
func TestKeysRotate_WithoutRetireOldTokensStillVerify(t *testing.T) {
	cfg, inst, anon, code, tokens := signedIn(t, false)
	old := client{t: t, base: inst.HTTPURL, token: tokens["accessToken"].(string)}
	r, err := allinone.RotateSigningKey(context.Background(), cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	_, body := login(anon, code, "admin", "Much-Better-Pass-1")
	if kid := kidOf(t, body["accessToken"].(string)); kid != r.Current {
		t.Fatalf("log-in after the rotation signed with %s; want the new key %s at once", kid, r.Current)
	}
	if st, body := old.do("GET", "/v1/me", nil); st != 200 {
		t.Fatalf("token of the replaced key: %d %v", st, body)
	}
	if kids := jwksKids(t, anon); len(kids) != 2 {
		t.Fatalf("JWKS %v; want the old and the new key", kids)
	}
}

// The signing keys are sealed in the database, under the KEK the
// all-in-one generated into its data directory (0600), and tokens survive
// a restart.
func TestSigningKeys_SealedAtRestAndTokensSurviveARestart(t *testing.T) {
	cfg, inst, anon, _, tokens := signedIn(t, false)
	if !inst.SigningKeyKEKNew || inst.SigningKeyKEKPath == "" {
		t.Fatalf("no KEK generated: %q", inst.SigningKeyKEKPath)
	}
	if st, err := os.Stat(inst.SigningKeyKEKPath); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("KEK file: %v, %v; want mode 0600", st, err)
	}
	me := client{t: t, base: inst.HTTPURL, token: tokens["accessToken"].(string)}
	published := jwks(t, anon)
	if err := inst.Stop(); err != nil {
		t.Fatal(err)
	}

	db, err := dbx.Open(context.Background(), "", cfg.DataDir, credential.Name)
	if err != nil {
		t.Fatal(err)
	}
	var id string
	var stored []byte
	err = db.QueryRow(context.Background(), "SELECT id, private_key FROM signing_keys").Scan(&id, &stored)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	pub := published[id]
	if pub == nil {
		t.Fatalf("stored key %s is not the published one (%v)", id, published)
	}
	// An Ed25519 private key is its 32-byte seed (then the public key):
	// no 32 bytes of the row may be the seed of the published key.
	for i := 0; i+ed25519.SeedSize <= len(stored); i++ {
		if ed25519.NewKeyFromSeed(stored[i : i+ed25519.SeedSize]).Public().(ed25519.PublicKey).Equal(pub) {
			t.Fatalf("the database holds signing key %s in plaintext", id)
		}
	}

	again := startWithConfig(t, false, cfg)
	if again.SigningKeyKEKNew || again.SigningKeyKEKPath != inst.SigningKeyKEKPath {
		t.Fatalf("restart made a new KEK (%q)", again.SigningKeyKEKPath)
	}
	me.base = again.HTTPURL
	if st, body := me.do("GET", "/v1/me", nil); st != 200 {
		t.Fatalf("token issued before the restart: %d %v", st, body)
	}
}

// A KEK that does not open the stored keys stops the start with a message
// naming the setting.
func TestSigningKeys_WrongKEKStopsTheStartNamingTheSetting(t *testing.T) {
	cfg := keysConfig(t, false)
	if err := startWithConfig(t, false, cfg).Stop(); err != nil {
		t.Fatal(err)
	}
	wrong, err := keyring.Parse(keyring.Generate())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Credential.KEK = wrong
	inst, err := allinone.Start(context.Background(), cfg)
	if err == nil {
		err = inst.Wait()
	}
	if err == nil || !strings.Contains(err.Error(), credential.EnvSigningKeyKEK) {
		t.Fatalf("start with a wrong KEK: %v; want an error naming %s", err, credential.EnvSigningKeyKEK)
	}
}
