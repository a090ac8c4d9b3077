package testkit

import (
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc"

	"github.com/latchkey/latchkey/libs/grpcx"
)

// CheckCallers fails t when a service's table of internal callers and what
// its internal port serves disagree: every method of the services named in
// internal must have callers (a forgotten one would refuse the peer that
// needs it), and every method the table names must be served (a typo would
// leave the real method closed unnoticed). register adds the internal
// port's services to a server, with nil dependencies.
func CheckCallers(t testing.TB, callers grpcx.Callers, register func(*grpc.Server), internal ...string) {
	t.Helper()
	s := grpc.NewServer()
	register(s)
	served := grpcx.Methods(s)
	for _, m := range served {
		for _, svc := range internal {
			if strings.HasPrefix(m, "/"+svc+"/") && len(callers[m]) == 0 {
				t.Errorf("%s is served on the internal port but no service may call it", m)
			}
		}
	}
	for m := range callers {
		if !slices.Contains(served, m) {
			t.Errorf("the callers table names %s, which the internal port does not serve", m)
		}
	}
}
