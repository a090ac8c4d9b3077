package recovery_test

import (
	"testing"

	"github.com/latchkey/latchkey/services/recovery/internal/recovery"
)

func TestNormalizeAnswer(t *testing.T) {
	for in, want := range map[string]string{
		"  Rex  the\tDOG ":   "rex the dog",
		"Ｔｉｌｂｕｒｇ":            "tilburg", // NFKC: full-width letters
		"Straße":             "strasse", // case folding
		"e\u0301cole":        "école",   // NFKC composes
		"ﬁsh":                "fish",    // ligature
		"\u00a0non\u2003bsp": "non bsp", // every kind of space
	} {
		if got := recovery.NormalizeAnswer(in); got != want {
			t.Errorf("NormalizeAnswer(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSecrets_WellFormedAndHashed(t *testing.T) {
	a, ha := recovery.NewSecret()
	b, hb := recovery.NewSecret()
	if a == b || ha == hb || !recovery.WellFormed(a) || recovery.HashOf(a) != ha {
		t.Fatal("secrets are not fresh, well formed and hashed")
	}
	for _, bad := range []string{"", "short", a + "x", a[:42] + "!"} {
		if recovery.WellFormed(bad) {
			t.Errorf("%q is well formed", bad)
		}
	}
}
