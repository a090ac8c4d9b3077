package account

import "testing"

func TestFoldUsername_NamesThatReadAlikeFoldAlike(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{"Ｊａｎ", "jan"},              // full width
		{"JAN", "jan"},              // case
		{"e\u0301", "\u00e9"},       // decomposed and composed
		{"RENE\u0301", "ren\u00e9"}, // both
		{"Ｊａｎ.de-Vries", "jan.de-vries"},
		{"\u0130stanbul", "i\u0307stanbul"}, // dotted capital I
	} {
		if fa, fb := FoldUsername(tc.a), FoldUsername(tc.b); fa != fb {
			t.Errorf("FoldUsername(%q) = %q, FoldUsername(%q) = %q; want one form", tc.a, fa, tc.b, fb)
		}
	}
	if FoldUsername("jan") == FoldUsername("jàn") {
		t.Error("an accent is part of the name")
	}
}

func TestFoldEmail_EachPartFolded(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Jan@Example.COM", "jan@example.com"},
		{"ＪＡＮ@ＥＸＡＭＰＬＥ.com", "jan@example.com"},
		{"rene\u0301@x.example", "ren\u00e9@x.example"},
		{"ﬁnn@x.example", "finn@x.example"}, // a ligature is the letters it joins
		{"not-an-address", "not-an-address"},
		{"jan\u0378@x.example", "jan\u0378@x.example"}, // refused: lower case only
	} {
		if got := FoldEmail(tc.in); got != tc.want {
			t.Errorf("FoldEmail(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// A username that is an e-mail address folds alike under either fold, so
// a tenant whose usernames are addresses compares them as one.
func TestFolds_AgreeOnValidUsernames(t *testing.T) {
	for _, u := range []string{"jan", "Ｊａｎ", "RENE\u0301", "\u0130lker", "Σίσυφος", "ΣΊΣΥΦΟΣ", "Straße", "\u0905\u0928\u093f\u0932", "o'brien", "a+b"} {
		addr := u + "@Example.COM"
		if !usernameAllowed(addr) {
			continue
		}
		if fu, fe := FoldUsername(addr), FoldEmail(addr); fu != fe {
			t.Errorf("%q: username fold %q, e-mail fold %q", addr, fu, fe)
		}
	}
}
