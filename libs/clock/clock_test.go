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

func TestStepping_EveryReadingLaterThanTheLast(t *testing.T) {
	start := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	c := NewStepping(start, time.Nanosecond) // raised to a microsecond
	a, b := c.Now(), c.Now()
	if !a.Equal(start) || b.Sub(a) != time.Microsecond {
		t.Fatalf("readings %v, %v: want %v and a microsecond later", a, b, start)
	}
	if got := c.Advance(time.Hour); !got.Equal(b.Add(time.Microsecond + time.Hour)) {
		t.Fatalf("advance: %v", got)
	}
}
