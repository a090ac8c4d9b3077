package readiness

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/latchkey/latchkey/libs/testkit"
)

// A peer still starting when the process starts is the normal course of a
// start (INFO); losing one after the process was ready is a WARN.
func TestCheck_PeerStartingIsInfoLosingOneIsWarn(t *testing.T) {
	logs := &testkit.LogBuffer{}
	var peerUp atomic.Bool
	c := New(slog.New(slog.NewJSONHandler(logs, nil)), Check{Name: "account", Probe: func(context.Context) error {
		if peerUp.Load() {
			return nil
		}
		return errors.New("health status NOT_SERVING")
	}})
	c.reuse = 0
	check := func() { c.at = c.at.AddDate(-1, 0, 0); c.Check(context.Background()) }

	check() // starting: the peer is not there yet
	peerUp.Store(true)
	check() // ready
	peerUp.Store(false)
	check() // lost it

	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 3 ||
		!strings.Contains(lines[0], `"level":"INFO","msg":"not ready"`) ||
		!strings.Contains(lines[1], `"msg":"dependency back"`) ||
		!strings.Contains(lines[2], `"level":"WARN","msg":"not ready"`) {
		t.Fatalf("lines:\n%s\nwant not ready at INFO, back, not ready at WARN", logs)
	}
}
