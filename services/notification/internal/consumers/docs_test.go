package consumers_test

import (
	"maps"
	"testing"

	"github.com/latchkey/latchkey/libs/testkit"
	"github.com/latchkey/latchkey/services/notification/internal/consumers"
)

// The consumer names docs/events.md tells other systems to avoid are the
// ones this service runs.
func TestConsumers_AreTheOnesTheEventsCatalogNames(t *testing.T) {
	want := testkit.EventsDocConsumers(t, "../../../../docs/events.md", "notification")
	got := map[string]string{}
	for _, c := range consumers.All(nil, nil) {
		got[c.Config.Durable] = c.Config.FilterSubject
	}
	if !maps.Equal(got, want) {
		t.Errorf("consumers %v, docs/events.md lists %v", got, want)
	}
}
