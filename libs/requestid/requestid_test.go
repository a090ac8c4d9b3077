package requestid_test

import (
	"context"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/libs/requestid"
)

func TestValid(t *testing.T) {
	for _, tc := range []struct {
		id   string
		want bool
	}{
		{"abc-123", true},
		{strings.Repeat("a", requestid.MaxLen), true},
		{"", false},
		{strings.Repeat("a", requestid.MaxLen+1), false},
		{"with space", false},
		{"line\nbreak", false},
		{"é", false},
	} {
		if got := requestid.Valid(tc.id); got != tc.want {
			t.Errorf("Valid(%q) = %v, want %v", tc.id, got, tc.want)
		}
	}
}

func TestNew_IsValidAndUnique(t *testing.T) {
	a, b := requestid.New(), requestid.New()
	if !requestid.Valid(a) || len(a) != 26 || a == b {
		t.Fatalf("New: %q, %q", a, b)
	}
	if got := requestid.OrNew("bad id"); got == "bad id" || !requestid.Valid(got) {
		t.Fatalf("OrNew kept or broke an invalid id: %q", got)
	}
	if got := requestid.OrNew("good"); got != "good" {
		t.Fatalf("OrNew replaced a valid id: %q", got)
	}
}

func TestContext(t *testing.T) {
	if _, ok := requestid.From(context.Background()); ok {
		t.Fatal("an empty context has an id")
	}
	if id, ok := requestid.From(requestid.With(context.Background(), "x")); !ok || id != "x" {
		t.Fatalf("From = %q, %v", id, ok)
	}
}
