-- Signing keys are sealed at rest: private_key now holds the Ed25519 seed
-- sealed with AES-256-GCM (nonce, then ciphertext and tag) under the
-- key-encryption key kek_id of LATCHKEY_SIGNING_KEY_KEK, with the key id as
-- associated data. A row with no kek_id is a plaintext key an older version
-- stored; the credential service seals it when it next starts.
ALTER TABLE signing_keys ADD COLUMN kek_id TEXT;
