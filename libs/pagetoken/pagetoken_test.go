package pagetoken

import (
	"testing"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/ids"
)

func TestRoundTrip(t *testing.T) {
	id := ids.New()
	got, err := Decode(Encode(id))
	if err != nil || got != id {
		t.Fatalf("Decode(Encode(%s)) = %q, %v", id, got, err)
	}
	if got, err := Decode(""); err != nil || got != "" {
		t.Fatalf("empty token: %q %v", got, err)
	}
}

func TestDecode_RejectsForeignTokens(t *testing.T) {
	for _, tok := range []string{"x", "!!!", Encode("not-an-id"), "djE6Jzsgc2VsZWN0"} {
		_, err := Decode(tok)
		var e *errs.Error
		if !errs.Is(err, errs.KindInvalid) {
			t.Fatalf("Decode(%q) err = %v, want InvalidArgument", tok, err)
		}
		e = err.(*errs.Error)
		if e.Fields[0].Field != "pageToken" {
			t.Fatalf("field = %q", e.Fields[0].Field)
		}
	}
}

func TestSize(t *testing.T) {
	for _, tc := range []struct {
		in      int32
		want    int
		wantErr bool
	}{{0, DefaultSize, false}, {10, 10, false}, {100000, MaxSize, false}, {-1, 0, true}} {
		got, err := Size(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("Size(%d) = %d, %v", tc.in, got, err)
		}
	}
}
