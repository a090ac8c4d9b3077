package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/libs/config"
	"github.com/latchkey/latchkey/libs/dbx"
	"github.com/latchkey/latchkey/libs/infra"
	"github.com/latchkey/latchkey/libs/keyring"
	"github.com/latchkey/latchkey/libs/natsx"
	"github.com/latchkey/latchkey/libs/outbox"
	"github.com/latchkey/latchkey/libs/secretfile"
	"github.com/latchkey/latchkey/services/credential/internal/events"
	"github.com/latchkey/latchkey/services/credential/internal/store"
	"github.com/latchkey/latchkey/services/credential/internal/store/sqlstore"
	"github.com/latchkey/latchkey/services/credential/internal/token"
)

// EnvSigningKeyKEK names the key ring that seals the access-token signing
// keys in the database.
const EnvSigningKeyKEK = "LATCHKEY_SIGNING_KEY_KEK"

// KEKFile is the file, in the data directory, where the all-in-one keeps
// the KEK it generates when EnvSigningKeyKEK is unset.
const KEKFile = "signing-key-kek"

const descSigningKeyKEK = "key ring sealing the access-token signing keys at rest (AES-256-GCM): base64 of 32 random bytes, or id:base64,… with the sealing key first and older ones after it to rotate; required by credentiald; empty in the all-in-one: generated into <data dir>/" + KEKFile

// signingKeyKEKFromEnv reads EnvSigningKeyKEK (nil when unset).
func signingKeyKEKFromEnv(l *config.Loader) *keyring.Ring {
	s := l.Secret(EnvSigningKeyKEK, descSigningKeyKEK)
	if s == "" {
		return nil
	}
	kek, err := keyring.Parse(s)
	l.Invalid(EnvSigningKeyKEK, err)
	return kek
}

// requireKEK records EnvSigningKeyKEK as required: credentiald has no data
// directory of its own to generate it into.
func requireKEK(l *config.Loader) { l.RequiredSecret(EnvSigningKeyKEK, descSigningKeyKEK) }

// errKEKRequired is Run's answer to a Config without a KEK.
var errKEKRequired = errors.New(EnvSigningKeyKEK + ": required: the key ring that seals the access-token signing keys (base64 of 32 random bytes, e.g. `openssl rand -base64 32`)")

// kekError names the setting in an error of a KEK that does not open the
// stored signing keys.
func kekError(err error) error {
	if errors.Is(err, token.ErrKEK) {
		return fmt.Errorf("%s: %w; set it to the key ring the keys were sealed with (a rotated KEK keeps the old key after the new one until every key is sealed again)", EnvSigningKeyKEK, err)
	}
	return err
}

// LoadOrCreateKEK returns the KEK kept in dataDir/KEKFile, generating it on
// first use (mode 0600): what the all-in-one and `latchkey keys` use when
// EnvSigningKeyKEK is unset. created reports whether it was made now.
func LoadOrCreateKEK(dataDir string) (kek *keyring.Ring, path string, created bool, err error) {
	s, path, created, err := secretfile.LoadOrCreate(dataDir, KEKFile, keyring.Generate)
	if err != nil {
		return nil, path, false, fmt.Errorf("signing-key KEK: %w", err)
	}
	if kek, err = keyring.Parse(s); err != nil {
		return nil, path, false, fmt.Errorf("signing-key KEK in %s: %w", path, err)
	}
	return kek, path, created, nil
}

// KeyRotation is what RotateSigningKey did.
type KeyRotation struct {
	// Current is the id (JWT kid) of the key that signs from now on.
	Current string
	// Retired are the ids of the keys taken out of JWKS.
	Retired []string
	// Published reports whether the event reached NATS now; when not, the
	// running services' outbox relays publish it (within seconds).
	Published bool
	// PublishErr says why it did not.
	PublishErr error
}

// RotateSigningKey is `latchkey keys rotate`, run against the database
// directly (PostgreSQL or the data directory's SQLite) rather than through
// a running service: a new signing key becomes current at once and, with
// retireCurrent, the key that signed until now is deleted. The event that
// tells the running services (SigningKeyRotated: reload the keys, refuse
// the retired one) is written in the same transaction and published at
// once when NATS can be reached (cfg.NATS or cfg.NATSURL).
func RotateSigningKey(ctx context.Context, cfg Config, retireCurrent bool) (KeyRotation, error) {
	cfg.Settings = cfg.Settings.WithDefaults()
	if cfg.KEK == nil {
		return KeyRotation{}, errKEKRequired
	}
	db, err := dbx.Open(ctx, cfg.PostgresURL, cfg.DataDir, Name)
	if err != nil {
		return KeyRotation{}, err
	}
	defer db.Close()
	if err := infra.Migrate(ctx, db, Service); err != nil {
		return KeyRotation{}, err
	}
	box := outbox.New(db, cfg.Clock, Name)
	st := sqlstore.New(db, box)
	var r token.Rotation
	err = st.KeysTx(ctx, func(keys token.KeyStore, tx store.Tx) error {
		if r, err = token.Rotate(ctx, keys, cfg.KEK, cfg.Clock.Now(), cfg.RotateEvery, retireCurrent); err != nil {
			return err
		}
		return tx.Emit(ctx, events.SigningKeyRotated(r.Current, r.Retired, r.At))
	})
	if err != nil {
		return KeyRotation{}, kekError(err)
	}
	out := KeyRotation{Current: r.Current, Retired: r.Retired}
	out.PublishErr = publishNow(ctx, cfg, box)
	out.Published = out.PublishErr == nil
	return out, nil
}

// publishNow relays the outbox at once. A service's relay is woken in
// memory (SQLite) or by NOTIFY (PostgreSQL); one in another process on
// SQLite would only see the row at its next poll, later than the second
// within which a retired key must stop verifying.
func publishNow(ctx context.Context, cfg Config, box *outbox.Outbox) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	nc := cfg.NATS
	if nc == nil {
		if cfg.NATSURL == "" {
			return errors.New("no NATS URL")
		}
		// The rotation is the credential service's event: it connects as
		// the credential service, with its permissions.
		opts, err := natsx.UserOptions(cfg.NATSNames, Name, cfg.NATSNKeyFile)
		if err != nil {
			return err
		}
		if nc, err = natsx.Connect(ctx, cfg.NATSURL, "latchkey-keys", opts...); err != nil {
			return err
		}
		defer nc.Close()
	}
	js, err := natsx.NewJetStream(nc)
	if err != nil {
		return err
	}
	_, err = box.NewRelay(js, outbox.RelayOptions{Names: cfg.NATSNames, Logger: cfg.Logger}).PublishPending(ctx)
	return err
}
