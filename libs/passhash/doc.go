// Package passhash hashes and verifies the secrets people type or keep —
// passwords, PINs, security answers, recovery codes — with Argon2id (PHC
// strings) on a bounded pool, so that a burst of log-ins cannot exhaust
// memory, and verifies the legacy formats (bcrypt, PBKDF2-SHA256, Argon2)
// that administrators may import. Credential, recovery and mfa share it so
// that every stored secret has one cost setting and one verifier.
package passhash
