package readiness

import (
	"context"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestCheck_RequiredFailsOptionalDegrades(t *testing.T) {
	down := func(context.Context) error { return errors.New("secret detail") }
	up := func(context.Context) error { return nil }
	tests := []struct {
		name         string
		checks       []Check
		wantStatus   string
		wantCode     int
		wantFailed   []string
		wantDegraded []string
	}{
		{"all up", []Check{{Name: "database", Probe: up}, {Name: "nats", Probe: up, Optional: true}}, "ok", 200, nil, nil},
		{"optional down", []Check{{Name: "database", Probe: up}, {Name: "nats", Probe: down, Optional: true}}, "degraded", 200, nil, []string{"nats"}},
		{"required down", []Check{{Name: "database", Probe: down}, {Name: "account", Probe: down}, {Name: "nats", Probe: down, Optional: true}},
			"unavailable", 503, []string{"account", "database"}, []string{"nats"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(nil, tt.checks...)
			r := c.Check(context.Background())
			if r.Status != tt.wantStatus || !slices.Equal(r.Failed, tt.wantFailed) || !slices.Equal(r.Degraded, tt.wantDegraded) {
				t.Fatalf("report %+v, want %s failed %q degraded %q", r, tt.wantStatus, tt.wantFailed, tt.wantDegraded)
			}
			w := httptest.NewRecorder()
			c.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
			if w.Code != tt.wantCode || strings.Contains(w.Body.String(), "secret detail") {
				t.Errorf("handler = %d %s, want %d without the error text", w.Code, w.Body, tt.wantCode)
			}
		})
	}
}

func TestCheck_ReusesTheLastReport_ShorterWhenNotReady(t *testing.T) {
	var probes atomic.Int32
	fail := atomic.Bool{}
	c := New(nil, Check{Name: "database", Probe: func(context.Context) error {
		probes.Add(1)
		if fail.Load() {
			return errors.New("down")
		}
		return nil
	}})
	c.reuse = time.Hour // no test waits this long
	for range 5 {
		c.Check(context.Background())
	}
	if n := probes.Load(); n != 1 {
		t.Fatalf("5 checks probed %d times, want once", n)
	}
	// A not-ready report is reused for a quarter of a second at most.
	c.at = time.Time{}
	fail.Store(true)
	if c.Check(context.Background()).Ready() {
		t.Fatal("ready with the database down")
	}
	c.at = time.Now().Add(-unreadyReuse)
	fail.Store(false)
	if !c.Check(context.Background()).Ready() {
		t.Error("a not-ready report outlived its shorter reuse")
	}
}
