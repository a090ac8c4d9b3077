package ids

import (
	"errors"
	"sort"
	"testing"

	"github.com/latchkey/latchkey/libs/errs"
)

func TestNew_IsValidAndOrdered(t *testing.T) {
	var got []string
	for i := 0; i < 1000; i++ {
		id := New()
		if !Valid(id) {
			t.Fatalf("New gave invalid id %q", id)
		}
		got = append(got, id)
	}
	if !sort.StringsAreSorted(got) {
		t.Fatal("UUIDv7 ids made in sequence do not sort in creation order")
	}
}

func TestValid(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"0190b6a2-7f3c-7cc1-8d3a-1b2c3d4e5f60", true},
		{"0190B6A2-7F3C-7CC1-8D3A-1B2C3D4E5F60", false},
		{"0190b6a27f3c7cc18d3a1b2c3d4e5f60", false},
		{"", false},
		{"'; drop table accounts; --", false},
	} {
		if got := Valid(tc.in); got != tc.want {
			t.Errorf("Valid(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestCheck_ReasonPerInput(t *testing.T) {
	for _, tc := range []struct {
		name, in, reason string // reason "" when accepted
	}{
		{"an id", "0190b6a2-7f3c-7cc1-8d3a-1b2c3d4e5f60", ""},
		{"empty", "", ReasonRequired},
		{"upper case", "0190B6A2-7F3C-7CC1-8D3A-1B2C3D4E5F60", ReasonInvalidFormat},
		{"no dashes", "0190b6a27f3c7cc18d3a1b2c3d4e5f60", ReasonInvalidFormat},
		{"not an id", "acme", ReasonInvalidFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Check("accountId", tc.in)
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var e *errs.Error
			if !errors.As(err, &e) || e.Kind != errs.KindInvalid || len(e.Fields) != 1 {
				t.Fatalf("err = %v, want one field violation", err)
			}
			if f := e.Fields[0]; f.Field != "accountId" || f.Reason != tc.reason {
				t.Fatalf("violation = %s/%s, want accountId/%s", f.Field, f.Reason, tc.reason)
			}
		})
	}
}
