package daemon

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestServeMetrics_ServesUntilCancelled(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "latchkey_test_total", Help: "test"})
	reg.MustRegister(c)
	c.Inc()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveMetrics(ctx, addr, reg) }()
	var body string
	for i := 0; i < 100; i++ {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(body, "latchkey_test_total 1") {
		t.Fatalf("metrics body: %q", body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestRun_ReportsEveryConfigError(t *testing.T) {
	t.Setenv("LATCHKEY_LOG_LEVEL", "shouting")
	err := run("test", func(env Env) (func(context.Context) error, error) {
		return nil, errors.New("setup failed")
	})
	if err == nil || !strings.Contains(err.Error(), "LATCHKEY_LOG_LEVEL") && !strings.Contains(err.Error(), "shouting") || !strings.Contains(err.Error(), "setup failed") {
		t.Fatalf("err = %v, want both the log level and the setup error", err)
	}
}
