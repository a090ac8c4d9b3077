// Package testkit gives tests real infrastructure: a PostgreSQL database and
// a NATS server of their own, from the machine's services when the
// environment names them, or started on the spot when it does not.
//
//	LATCHKEY_TEST_POSTGRES_URL  e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable
//	LATCHKEY_TEST_NATS_URL      e.g. nats://127.0.0.1:4222
//
// A test package that may start a throwaway PostgreSQL cluster should have
//
//	func TestMain(m *testing.M) { testkit.Main(m) }
//
// so the cluster is stopped and its files removed when the tests end.
package testkit

import (
	"os"
	"sync"
	"testing"
)

// Main runs the tests of a package and then stops what testkit started for
// the whole test binary (the throwaway PostgreSQL cluster). Go has no hook
// that runs after all tests, so this has to be called from TestMain.
//
// Without it the cluster still goes away with the test process (the kernel
// signals it when the process dies), but its files stay in the temp dir
// (/dev/shm or $TMPDIR) until a later test run sweeps them.
func Main(m *testing.M) {
	code := m.Run()
	stopAll()
	os.Exit(code)
}

var (
	stopMu    sync.Mutex
	stopFuncs []func()
)

// AtExit registers f to run from Main after the tests: for what a package
// shares across its tests and must stop (a browser, say).
func AtExit(f func()) { atExit(f) }

// atExit registers f to run from Main after the tests.
func atExit(f func()) {
	stopMu.Lock()
	defer stopMu.Unlock()
	stopFuncs = append(stopFuncs, f)
}

func stopAll() {
	stopMu.Lock()
	fs := stopFuncs
	stopFuncs = nil
	stopMu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}
