package daemon

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/latchkey/latchkey/libs/config"
)

func TestServeManagement_MetricsHealthzAndProfilesUntilCancelled(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "latchkey_test_total", Help: "test"})
	reg.MustRegister(c)
	c.Inc()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeManagement(ctx, lis, ManagementMux(reg)) }()
	for path, want := range map[string]string{"/metrics": "latchkey_test_total 1", "/healthz": "ok",
		"/debug/pprof/": "goroutine", "/debug/pprof/profile?seconds=1": ""} {
		resp, err := http.Get("http://" + lis.Addr().String() + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Errorf("%s = %d %q, want 200 with %q", path, resp.StatusCode, b, want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// testBinary reads one required and one integer setting, and records
// whether it ran.
func testBinary(ran *bool) Binary[int] {
	return Binary[int]{
		Name:  "testd",
		About: "testd runs nothing.",
		Config: func(l *config.Loader) int {
			l.Required("LATCHKEY_TEST_PEER_ADDR", "where the peer is")
			return l.Int("LATCHKEY_TEST_WORKERS", 4, "workers")
		},
		Run: func(ctx context.Context, cfg int, env Env) error { *ran = true; return nil },
	}
}

func lookup(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestMain_HelpListsTheBinarysSettingsWithoutRunning(t *testing.T) {
	var ran bool
	var out, errOut strings.Builder
	if code := main(testBinary(&ran), []string{"-h"}, lookup(nil), &out, &errOut); code != 0 || ran {
		t.Fatalf("exit %d, ran %v; stderr %q", code, ran, errOut.String())
	}
	for _, want := range []string{"usage: testd", "testd runs nothing.", "LATCHKEY_TEST_PEER_ADDR", "LATCHKEY_TEST_WORKERS  (default 4)", "LATCHKEY_LOG_LEVEL", "LATCHKEY_MANAGEMENT_ADDR  (default 127.0.0.1:9464)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, out.String())
		}
	}
}

func TestMain_RefusesArgumentsAndFlags(t *testing.T) {
	for _, args := range [][]string{{"serve"}, {"-port=1"}, {"-h", "extra"}} {
		var ran bool
		var out, errOut strings.Builder
		code := main(testBinary(&ran), args, lookup(map[string]string{"LATCHKEY_TEST_PEER_ADDR": "x:1"}), &out, &errOut)
		if code != 2 || ran || !strings.Contains(errOut.String(), "unexpected argument") {
			t.Errorf("%q: exit %d, ran %v, stderr %q", args, code, ran, errOut.String())
		}
	}
}

func TestMain_BadSettingsAreOneLineEachAndNothingRuns(t *testing.T) {
	var ran bool
	var out, errOut strings.Builder
	code := main(testBinary(&ran), nil, lookup(map[string]string{"LATCHKEY_TEST_WORKERS": "many", "LATCHKEY_LOG_LEVEL": "shouting"}), &out, &errOut)
	if code != 2 || ran {
		t.Fatalf("exit %d, ran %v", code, ran)
	}
	lines := strings.Split(strings.TrimSpace(errOut.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("want 3 lines (log level, peer address, workers), got %q", lines)
	}
	for i, want := range []string{"LATCHKEY_LOG_LEVEL", "LATCHKEY_TEST_PEER_ADDR: required", `LATCHKEY_TEST_WORKERS: "many" is not an integer`} {
		if !strings.HasPrefix(lines[i], "testd: ") || !strings.Contains(lines[i], want) {
			t.Errorf("line %d = %q, want testd: …%s…", i, lines[i], want)
		}
	}
}

func TestMain_RunsWithGoodSettings(t *testing.T) {
	for _, management := range []string{"", "127.0.0.1:0"} {
		var ran bool
		var out, errOut strings.Builder
		env := map[string]string{"LATCHKEY_TEST_PEER_ADDR": "x:1", EnvManagementAddr: management}
		// With a management listener too: it stops when the service does.
		if code := main(testBinary(&ran), nil, lookup(env), &out, &errOut); code != 0 || !ran {
			t.Fatalf("management %q: exit %d, ran %v; stderr %q", management, code, ran, errOut.String())
		}
	}
}

// managedConfig is a service configuration that takes the management mux,
// as infra.Settings does for its /readyz.
type managedConfig struct {
	log bool
	mux *http.ServeMux
}

func (c *managedConfig) Observe(*slog.Logger, prometheus.Registerer) { c.log = true }
func (c *managedConfig) Manage(mux *http.ServeMux)                   { c.mux = mux }

func TestService_HandsTheManagementMuxToTheService(t *testing.T) {
	mux := http.NewServeMux()
	var got managedConfig
	b := serviceBinary[managedConfig]("testd", "a test service",
		func(*config.Loader) managedConfig { return managedConfig{} },
		func(_ context.Context, cfg managedConfig) error { got = cfg; return nil })
	if err := b.Run(context.Background(), managedConfig{}, Env{Logger: slog.Default(), Registry: prometheus.NewRegistry(), Management: mux}); err != nil {
		t.Fatal(err)
	}
	if !got.log || got.mux != mux {
		t.Fatalf("the service got logger %v, mux %p; want both, mux %p", got.log, got.mux, mux)
	}
}
