package testkit

import (
	"os"
	"strings"
	"testing"
)

// EventsDocConsumers returns the durable consumers that the events
// catalog for subscribers (docs/events.md, at path) lists for service, as
// durable name → filter subject. Each service's test compares it with the
// consumers it runs, so the names other systems are told to avoid are the
// ones in use.
func EventsDocConsumers(t testing.TB, path, service string) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(raw), "\n") {
		// | `durable` | service | `filter subject` ... |
		cells := strings.Split(strings.TrimSpace(line), "|")
		if len(cells) != 5 || strings.TrimSpace(cells[2]) != service {
			continue
		}
		durable := strings.Trim(strings.TrimSpace(cells[1]), "`")
		filter := strings.TrimSpace(cells[3])
		if !strings.HasPrefix(filter, "`") {
			continue
		}
		filter, _, _ = strings.Cut(filter[1:], "`")
		out[durable] = filter
	}
	if len(out) == 0 {
		t.Fatalf("testkit: %s lists no consumers of service %s", path, service)
	}
	return out
}
