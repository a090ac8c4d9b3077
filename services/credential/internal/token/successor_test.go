package token

import "testing"

func TestSuccessor_OpensOnlyWithThePreviousToken(t *testing.T) {
	prev, _ := NewSecret()
	next, _ := NewSecret()
	sealed := SealSuccessor(prev, next)
	if got, err := OpenSuccessor(prev, sealed); err != nil || got != next {
		t.Fatalf("open with prev: %q %v", got, err)
	}
	other, _ := NewSecret()
	if _, err := OpenSuccessor(other, sealed); err != ErrSuccessor {
		t.Fatalf("open with another token: %v, want ErrSuccessor", err)
	}
	if _, err := OpenSuccessor(prev, sealed[:5]); err != ErrSuccessor {
		t.Fatalf("open a cut value: %v", err)
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := OpenSuccessor(prev, sealed); err != ErrSuccessor {
		t.Fatalf("open a changed value: %v", err)
	}
}
