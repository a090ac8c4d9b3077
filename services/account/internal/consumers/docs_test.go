package consumers_test

import (
	"maps"
	"testing"

	"github.com/latchkey/latchkey/libs/testkit"
	"github.com/latchkey/latchkey/services/account/internal/consumers"
)

// The consumer names docs/events.md tells other systems to avoid are the
// ones this service runs.
func TestConsumers_AreTheOnesTheEventsCatalogNames(t *testing.T) {
	want := testkit.EventsDocConsumers(t, "../../../../docs/events.md", "account")
	cfg, _ := consumers.LoginSucceeded(nil, nil)
	got := map[string]string{cfg.Durable: cfg.FilterSubject}
	if !maps.Equal(got, want) {
		t.Errorf("consumers %v, docs/events.md lists %v", got, want)
	}
}
