package clock

import (
	"testing"
	"time"
)

func TestFake_AdvanceMovesNow(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f := NewFake(start)
	if got := f.Advance(10 * 24 * time.Hour); !got.Equal(start.Add(240 * time.Hour)) {
		t.Fatalf("Advance = %v", got)
	}
	if !f.Now().Equal(start.Add(240 * time.Hour)) {
		t.Fatalf("Now after Advance = %v", f.Now())
	}
}

func TestNormalize_DropsNanosecondsAndZone(t *testing.T) {
	in := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.FixedZone("x", 3600))
	got := Normalize(in)
	if got.Nanosecond() != 123456000 || got.Location() != time.UTC {
		t.Fatalf("Normalize = %v", got)
	}
	if !got.Equal(in.Truncate(time.Microsecond)) {
		t.Fatalf("Normalize changed the instant: %v", got)
	}
}

func TestSystem_IsNormalized(t *testing.T) {
	now := System{}.Now()
	if now != Normalize(now) {
		t.Fatalf("System.Now not normalized: %v", now)
	}
}
