package gateway

import (
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/clock"
)

func TestAddressLimiter_BucketsPerAddressAndPrefix(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))
	a := newAddressLimiter(RateLimit{PerMinute: 60, Burst: 1}, clk)
	tests := []struct {
		addr   string
		wantOK bool
	}{
		{"203.0.113.7", true},
		{"203.0.113.7", false},
		{"203.0.113.8", true},
		{"2001:db8:1:2::1", true},
		// Same /64: one household, one bucket.
		{"2001:db8:1:2:ffff::9", false},
		{"2001:db8:1:3::1", true},
	}
	for _, tt := range tests {
		ok, wait := a.allow(tt.addr)
		if ok != tt.wantOK {
			t.Errorf("allow(%s) = %v, want %v", tt.addr, ok, tt.wantOK)
		}
		if !ok && (wait <= 0 || wait > time.Second) {
			t.Errorf("allow(%s) wait = %s, want (0, 1s]", tt.addr, wait)
		}
	}
}

func TestAddressLimiter_ForgetsTheLeastRecentlySeenPastItsBound(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))
	a := newAddressLimiter(RateLimit{PerMinute: 60, Burst: 1}, clk)
	a.max = 2
	for _, addr := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.1", "192.0.2.3"} {
		a.allow(addr)
	}
	if len(a.byKey) != 2 || a.order.Len() != 2 {
		t.Fatalf("tracking %d/%d addresses, want 2", len(a.byKey), a.order.Len())
	}
	if _, kept := a.byKey["192.0.2.2"]; kept {
		t.Error("the least recently seen address was kept")
	}
	if ok, _ := a.allow("192.0.2.1"); ok {
		t.Error("a recently seen address lost its spent bucket")
	}
}

func TestNewAddressLimiter_ZeroIsNoLimit(t *testing.T) {
	if a := newAddressLimiter(RateLimit{}, nil); a != nil || a.check(t.Context(), "/latchkey.credential.v1.AuthService/Login") != nil {
		t.Fatal("a zero RateLimit limits")
	}
}
