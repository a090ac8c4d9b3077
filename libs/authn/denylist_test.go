package authn

import (
	"fmt"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/clock"
)

func TestDenylist_RevokedUntilTheLastTokenExpiresThenForgotten(t *testing.T) {
	clk := clock.NewFake(testNow)
	d := NewDenylist(clk)
	d.Revoke("s1", testNow.Add(10*time.Minute))
	d.Revoke("s1", testNow.Add(time.Minute)) // an earlier expiry does not shorten it
	if !d.Revoked("s1") || d.Revoked("s2") {
		t.Fatal("Revoked wrong right after Revoke")
	}
	clk.Advance(10*time.Minute + DenylistGrace - time.Second)
	if !d.Revoked("s1") {
		t.Fatal("forgotten before its last token (plus grace) expired")
	}
	clk.Advance(time.Second)
	if d.Revoked("s1") {
		t.Fatal("still revoked after every token of the session expired")
	}
}

func TestDenylist_ExpiredEntriesAreDropped(t *testing.T) {
	clk := clock.NewFake(testNow)
	d := NewDenylist(clk)
	for n := range 10000 {
		d.Revoke(fmt.Sprintf("s%d", n), testNow.Add(10*time.Minute))
	}
	if d.Len() != 10000 {
		t.Fatalf("Len = %d", d.Len())
	}
	clk.Advance(15 * time.Minute)
	d.Revoke("late", clk.Now().Add(10*time.Minute)) // Revoke sweeps now and then
	if d.Len() != 1 {
		t.Fatalf("Len = %d after the first ones expired, want 1", d.Len())
	}
	clk.Advance(15 * time.Minute)
	d.Sweep()
	if d.Len() != 0 {
		t.Fatalf("Len = %d after Sweep, want 0", d.Len())
	}
	// Revoking a session whose tokens are already expired keeps nothing.
	d.Revoke("old", clk.Now().Add(-DenylistGrace))
	if d.Len() != 0 {
		t.Fatalf("an already expired revocation was kept")
	}
}
