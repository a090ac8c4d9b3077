package testkit

import (
	"testing"
	"time"
)

// StoppablePostgres is a PostgreSQL server of one test's own, which the
// test stops and starts again to play an outage. It is always a throwaway
// cluster, even when LATCHKEY_TEST_POSTGRES_URL is set: the shared server
// must never be stopped under the other tests.
type StoppablePostgres struct {
	// URL is the superuser URL of the server's postgres database; it stays
	// the same across Stop and Start (same port).
	URL string
	c   *cluster
}

// NewStoppablePostgres starts a cluster for t (about a second) and removes
// it when t ends.
func NewStoppablePostgres(t testing.TB) *StoppablePostgres {
	t.Helper()
	begin := time.Now()
	c, err := startCluster()
	if err != nil {
		t.Fatalf("testkit: throwaway PostgreSQL: %v", err)
	}
	t.Logf("testkit: a PostgreSQL cluster of the test's own started in %s", time.Since(begin).Round(time.Millisecond))
	t.Cleanup(c.stop)
	return &StoppablePostgres{URL: c.url, c: c}
}

// Stop shuts the server down the way an operator's restart does (fast
// shutdown: every client is disconnected) and waits until it is down.
func (s *StoppablePostgres) Stop(t testing.TB) {
	t.Helper()
	s.c.stopPostmaster()
}

// Start starts the stopped server again on its port and returns once it
// accepts connections.
func (s *StoppablePostgres) Start(t testing.TB) {
	t.Helper()
	if err := s.c.startPostmaster(s.c.port); err != nil {
		t.Fatalf("testkit: restart PostgreSQL: %v", err)
	}
}
