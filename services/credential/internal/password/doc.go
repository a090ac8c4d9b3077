// Package password holds the rules for the secrets users type: hashing and
// verifying passwords and PINs (Argon2id, plus the legacy formats that admins
// may import), the tenant password policy, the built-in list of common
// passwords, an optional local list of breached passwords, and PIN rules.
//
// It is pure logic: the only I/O is LoadBreached reading a local file. Errors
// that a client can act on are errs.Invalid field violations with stable
// reasons, so a form can show every broken rule at once.
package password
