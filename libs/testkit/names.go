package testkit

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
)

// randomHex returns n random bytes as hex: enough to keep names of
// concurrent tests (and of concurrent test runs) apart.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return hex.EncodeToString(b)
}

// nameToken turns a test name into something safe in a database name, a
// NATS subject token and a stream name: letters, digits and '_' only, at
// most max bytes. It only helps a person see which test left a leftover; the
// random suffix is what makes names unique.
func nameToken(name string, max int, lower bool) string {
	if lower {
		name = strings.ToLower(name)
	}
	var b strings.Builder
	for _, r := range name {
		if b.Len() >= max {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// UniquePrefix returns a NATS subject token no other test uses, e.g.
// "test_TestRelay_Publishes_3f9a1c2e". A test that shares a NATS server with
// others (LATCHKEY_TEST_NATS_URL) builds its subjects under it
// (prefix+".events.>") so its streams and consumers see only its messages:
// two streams may not capture overlapping subjects.
func UniquePrefix(t testing.TB) string {
	t.Helper()
	return "test_" + nameToken(t.Name(), 40, false) + "_" + randomHex(4)
}

// StreamName returns a JetStream stream name made from base that no other
// test uses, e.g. "EVENTS_TestRelay_3f9a1c2e". The streams the services
// define (natsx.EventsStreamName, ...) are shared by everyone on a shared
// server; a test that creates streams copies their configuration and
// renames it with this.
func StreamName(t testing.TB, base string) string {
	t.Helper()
	return nameToken(base, 32, false) + "_" + nameToken(t.Name(), 32, false) + "_" + randomHex(4)
}

// databaseName returns a fresh PostgreSQL database name for t. PostgreSQL
// folds unquoted names to lower case and cuts them at 63 bytes, so the name
// is lower case and short.
func databaseName(t testing.TB) string {
	return "t_" + nameToken(t.Name(), 40, true) + "_" + randomHex(6)
}
