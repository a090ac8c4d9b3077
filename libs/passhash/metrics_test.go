package passhash

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/latchkey/latchkey/libs/testkit"
)

// TestHasher_Metrics_QueueWaitAndBusy fills a one-slot pool with a queue
// of two: the queue's length shows the two waiting, the third caller is
// counted busy, and both waits are observed once they get the slot.
func TestHasher_Metrics_QueueWaitAndBusy(t *testing.T) {
	h := NewHasher(fastParams, 1, 2)
	reg := prometheus.NewRegistry()
	if err := h.Register(reg, "credential"); err != nil {
		t.Fatal(err)
	}
	gauges := func(queue, busy int) string {
		return fmt.Sprintf(`
# HELP latchkey_password_hash_busy_total Callers refused with PASSWORD_HASHER_BUSY (HTTP 503): the pool's queue was full, or their deadline passed while they waited.
# TYPE latchkey_password_hash_busy_total counter
latchkey_password_hash_busy_total{service="credential"} %d
# HELP latchkey_password_hash_queue_capacity How many callers may wait for a slot before the next is refused as busy (LATCHKEY_HASH_QUEUE).
# TYPE latchkey_password_hash_queue_capacity gauge
latchkey_password_hash_queue_capacity{service="credential"} 2
# HELP latchkey_password_hash_queue_length Callers waiting now for a slot of the Argon2 pool.
# TYPE latchkey_password_hash_queue_length gauge
latchkey_password_hash_queue_length{service="credential"} %d
`, busy, queue)
	}
	names := []string{"latchkey_password_hash_busy_total", "latchkey_password_hash_queue_capacity", "latchkey_password_hash_queue_length"}

	// Take the only slot, as a long computation would.
	if err := h.slots.Acquire(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if _, err := h.Hash(t.Context(), "pw"); err != nil {
				t.Error(err)
			}
		})
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		return testutil.GatherAndCompare(reg, strings.NewReader(gauges(2, 0)), names...)
	})
	if _, err := h.Hash(t.Context(), "pw"); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("third caller: %v, want busy", err)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(gauges(2, 1)), names...); err != nil {
		t.Error(err)
	}
	h.slots.Release(1)
	wg.Wait()
	if err := testutil.GatherAndCompare(reg, strings.NewReader(gauges(0, 1)), names...); err != nil {
		t.Error(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == "latchkey_password_hash_wait_seconds" {
			if got := f.GetMetric()[0].GetHistogram().GetSampleCount(); got != 2 {
				t.Errorf("waits observed: %d, want 2", got)
			}
			return
		}
	}
	t.Error("no latchkey_password_hash_wait_seconds")
}
