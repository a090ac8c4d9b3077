package password

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/libs/errs"
)

// reasons returns the reasons of err's field violations on field, sorted, and
// fails when a violation names another field.
func reasons(t *testing.T, err error, field string) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind != errs.KindInvalid {
		t.Fatalf("error %v is not errs.Invalid", err)
	}
	var out []string
	for _, f := range e.Fields {
		if f.Field != field {
			t.Errorf("violation on %q, want %q", f.Field, field)
		}
		out = append(out, f.Reason)
	}
	slices.Sort(out)
	return out
}

func TestCheck_Rules(t *testing.T) {
	strict := Rules{MinLength: 12, MinUppercase: 2, MinLowercase: 2, MinDigits: 2, MinSymbols: 1}
	nobody := Personal{}
	tests := []struct {
		name  string
		plain string
		rules Rules
		who   Personal
		want  []string
	}{
		{"good under no rules", "tortoise-violin", Rules{}, nobody, nil},
		{"good under strict rules", "Tortoise-Violin-42", strict, nobody, nil},
		{"empty is always too short", "", Rules{}, nobody, []string{ReasonTooShort}},
		{"too short", "Tv-42ab", Rules{MinLength: 8}, nobody, []string{ReasonTooShort}},
		{"exactly min length", "Tv-42abc", Rules{MinLength: 8}, nobody, nil},
		{"length counts runes not bytes", "ääääääää", Rules{MinLength: 8}, nobody, nil},
		{"too long by default", strings.Repeat("zq", 65), Rules{}, nobody, []string{ReasonTooLong}},
		{"128 is allowed by default", strings.Repeat("zq", 64), Rules{}, nobody, nil},
		{"tenant max length", "tortoise-violin", Rules{MaxLength: 10}, nobody, []string{ReasonTooLong}},
		{"needs uppercase", "tortoise-violin-42", Rules{MinUppercase: 1}, nobody, []string{ReasonNeedsUppercase}},
		{"needs two uppercase", "Tortoise-violin-42", Rules{MinUppercase: 2}, nobody, []string{ReasonNeedsUppercase}},
		{"non-ASCII uppercase counts", "Ötortoise-Ävioli", Rules{MinUppercase: 2}, nobody, nil},
		{"needs lowercase", "TORTOISE-VIOLIN-42", Rules{MinLowercase: 1}, nobody, []string{ReasonNeedsLowercase}},
		{"needs digit", "tortoise-violin", Rules{MinDigits: 1}, nobody, []string{ReasonNeedsDigit}},
		{"needs symbol", "tortoise violin 42", Rules{MinSymbols: 1}, nobody, []string{ReasonNeedsSymbol}},
		{"space is not a symbol", "tortoise violin", Rules{MinSymbols: 1}, nobody, []string{ReasonNeedsSymbol}},
		{"euro sign is a symbol", "tortoise€violin", Rules{MinSymbols: 1}, nobody, nil},
		{"underscore is a symbol", "tortoise_violin", Rules{MinSymbols: 1}, nobody, nil},
		{"every class rule at once", "1", strict, nobody, []string{
			ReasonNeedsDigit, ReasonNeedsSymbol, ReasonNeedsUppercase, ReasonNeedsLowercase, ReasonTooShort,
		}},
		{"policy and common at once", "dragon", strict, nobody, []string{
			ReasonNeedsDigit, ReasonNeedsSymbol, ReasonNeedsUppercase, ReasonTooShort, ReasonTooCommon,
		}},
		{"common", "password", Rules{}, nobody, []string{ReasonTooCommon}},
		{"common ignores case", "PassWord", Rules{}, nobody, []string{ReasonTooCommon}},
		{"common with digits and symbol added", "Password1!", Rules{}, nobody, []string{ReasonTooCommon}},
		{"common with prefix added", "!!Monkey", Rules{}, nobody, []string{ReasonTooCommon}},
		{"common on both ends", "2024dragon!", Rules{}, nobody, []string{ReasonTooCommon}},
		{"common digits", "123456", Rules{}, nobody, []string{ReasonTooCommon}},
		{"common qwerty", "qwerty", Rules{}, nobody, []string{ReasonTooCommon}},
		{"common iloveyou", "ILoveYou", Rules{}, nobody, []string{ReasonTooCommon}},
		{"common welcome", "Welcome1", Rules{}, nobody, []string{ReasonTooCommon}},
		{"common admin", "admin", Rules{}, nobody, []string{ReasonTooCommon}},
		{"common letmein", "letmein", Rules{}, nobody, []string{ReasonTooCommon}},
		{"common football", "football", Rules{}, nobody, []string{ReasonTooCommon}},
		{"common addition", "latchkey", Rules{}, nobody, []string{ReasonTooCommon}},
		{"common word inside is fine", "password-tortoise-violin", Rules{}, nobody, nil},
		{"username", "xx-jdoe-99", Rules{}, Personal{Username: "JDoe"}, []string{ReasonContainsPersonal}},
		{"username that is an e-mail", "Jane.Doe-2024", Rules{}, Personal{Username: "jane.doe@example.com"}, []string{ReasonContainsPersonal}},
		{"e-mail local part", "winter-JANE.DOE", Rules{}, Personal{Email: "jane.doe@example.com"}, []string{ReasonContainsPersonal}},
		{"e-mail local word", "xylophone-doe-77", Rules{}, Personal{Email: "jane.doe@example.com"}, []string{ReasonContainsPersonal}},
		{"e-mail domain is not checked", "example-tortoise", Rules{}, Personal{Email: "jane.doe@example.com"}, nil},
		{"display name word", "tortoise-Smith-violin", Rules{}, Personal{DisplayName: "Jo Smith"}, []string{ReasonContainsPersonal}},
		{"display name short word ignored", "tortoise-jo-violin", Rules{}, Personal{DisplayName: "Jo Smith"}, nil},
		{"non-ASCII display name", "tortoise-müller", Rules{}, Personal{DisplayName: "Anna MÜLLER"}, []string{ReasonContainsPersonal}},
		{"personal and policy together", "annasmith", Rules{MinDigits: 1}, Personal{DisplayName: "Anna Smith"}, []string{ReasonContainsPersonal, ReasonNeedsDigit}},
		{"breached ignored without list", "tortoise-violin", Rules{CheckBreached: true}, nobody, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := slices.Clone(tt.want)
			slices.Sort(want)
			got := reasons(t, Check(tt.plain, tt.rules, tt.who, "newPassword"), "newPassword")
			if !slices.Equal(got, want) {
				t.Errorf("Check(%q) reasons = %v, want %v", tt.plain, got, want)
			}
		})
	}
}

func TestCheck_DescriptionsSayTheNumberNeeded(t *testing.T) {
	err := Check("a", Rules{MinLength: 10, MinUppercase: 2, MinDigits: 1, MinSymbols: 3}, Personal{}, "newPassword")
	var e *errs.Error
	if !errors.As(err, &e) {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range e.Fields {
		got[f.Reason] = f.Description
	}
	for reason, want := range map[string]string{
		ReasonTooShort:       "at least 10 characters",
		ReasonNeedsUppercase: "at least 2 uppercase letters",
		ReasonNeedsDigit:     "at least 1 digit",
		ReasonNeedsSymbol:    "at least 3 symbols",
	} {
		if !strings.Contains(got[reason], want) {
			t.Errorf("%s description = %q, want it to contain %q", reason, got[reason], want)
		}
	}
	if e.Reason != "INVALID_ARGUMENT" {
		t.Errorf("top reason with several violations = %s", e.Reason)
	}
	// One broken rule puts its reason on the error itself, for clients that
	// switch on it directly.
	err = Check("tv-42", Rules{MinLength: 8}, Personal{}, "newPassword")
	if !errors.As(err, &e) || e.Reason != ReasonTooShort {
		t.Errorf("single violation reason = %v, want %s", err, ReasonTooShort)
	}
}

func TestCommonList_IsLoaded(t *testing.T) {
	set := commonSet()
	if n := len(set); n < 10_000 {
		t.Fatalf("common list has %d entries, want at least 10,000", n)
	}
	for _, w := range []string{"123456", "password", "qwerty", "iloveyou", "welcome", "admin", "letmein", "monkey", "dragon", "football"} {
		if _, ok := set[w]; !ok {
			t.Errorf("%q is not on the common list", w)
		}
	}
	for w := range set {
		if strings.HasPrefix(w, "#") || strings.TrimSpace(w) != w || w == "" {
			t.Fatalf("bad entry %q: a comment or whitespace leaked in", w)
		}
	}
}

func writeBreached(t *testing.T, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "pwned.txt")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\r\n")+"\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func sha1Hex(s string) string {
	sum := sha1.Sum([]byte(s))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

func TestBreachedList(t *testing.T) {
	breached := []string{"tortoise-violin", "Tr0ub4dor&3", "correct horse battery staple"}
	var lines []string
	for i, pw := range breached {
		lines = append(lines, fmt.Sprintf("%s:%d", sha1Hex(pw), 10+i))
	}
	// Unsorted on purpose: the loader must sort what it is given.
	list, err := LoadBreached(writeBreached(t, lines...))
	if err != nil {
		t.Fatal(err)
	}
	if list.Len() != 3 {
		t.Fatalf("Len = %d, want 3", list.Len())
	}
	for _, pw := range breached {
		if !list.Contains(pw) {
			t.Errorf("Contains(%q) = false", pw)
		}
	}
	if list.Contains("tortoise-violin2") || list.Contains("") {
		t.Error("Contains reports a password that is not listed")
	}

	c := &Checker{Breached: list}
	tests := []struct {
		plain string
		rules Rules
		want  []string
	}{
		{"tortoise-violin", Rules{CheckBreached: true}, []string{ReasonBreached}},
		{"tortoise-violin", Rules{}, nil}, // policy off: not checked
		{"tortoise-cello", Rules{CheckBreached: true}, nil},
	}
	for _, tt := range tests {
		got := reasons(t, c.Check(tt.plain, tt.rules, Personal{}, "newPassword"), "newPassword")
		if !slices.Equal(got, tt.want) {
			t.Errorf("Check(%q, %+v) = %v, want %v", tt.plain, tt.rules, got, tt.want)
		}
	}
	var nilList *BreachedList
	if nilList.Contains("x") || nilList.Len() != 0 {
		t.Error("a nil list must contain nothing")
	}
}

func TestLoadBreached_SortedLowercaseAndBare(t *testing.T) {
	var hashes []string
	for i := range 1000 {
		hashes = append(hashes, sha1Hex(fmt.Sprint("pw", i)))
	}
	slices.Sort(hashes)
	lines := make([]string, len(hashes))
	for i, h := range hashes {
		switch i % 3 {
		case 0:
			lines[i] = h + ":1"
		case 1:
			lines[i] = strings.ToLower(h) + ":123456"
		default:
			lines[i] = h // no count
		}
	}
	lines = append(lines, "")
	list, err := LoadBreached(writeBreached(t, lines...))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		if !list.Contains(fmt.Sprint("pw", i)) {
			t.Fatalf("pw%d not found", i)
		}
	}
	if list.Contains("pw1000") {
		t.Error("pw1000 found but not listed")
	}
}

func TestLoadBreached_RefusesMalformed(t *testing.T) {
	good := sha1Hex("x") + ":3"
	for name, line := range map[string]string{
		"short hash":   "ABCDEF:3",
		"not hex":      strings.Repeat("Z", 40) + ":3",
		"bad count":    sha1Hex("y") + ":many",
		"empty count":  sha1Hex("y") + ":",
		"ntlm-length":  strings.Repeat("A", 32) + ":1",
		"sha256-style": strings.Repeat("A", 64),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := LoadBreached(writeBreached(t, good, line))
			if err == nil || !strings.Contains(err.Error(), "line 2") {
				t.Errorf("LoadBreached = %v, want an error naming line 2", err)
			}
		})
	}
	if _, err := LoadBreached(filepath.Join(t.TempDir(), "missing.txt")); err == nil {
		t.Error("LoadBreached(missing file) succeeded")
	}
}
