package account

import (
	"strings"

	"golang.org/x/text/secure/precis"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// Usernames and e-mail addresses are kept unique, and looked up, in a
// folded form, so that names a person reads as the same are the same
// login: "Jan", "ＪＡＮ" (full-width) and "jan" are one username, and so are
// "é" typed as one code point or as e plus a combining accent. The account
// keeps the form the user typed, for display.
//
// Usernames follow PRECIS UsernameCaseMapped (RFC 8265): width folded,
// lower-cased, NFC, and refused when they hold what an identifier must
// not (control characters, unassigned code points, symbols and spaces, a
// broken bidirectional text). E-mail addresses are addresses people
// already have, and RFC 6531 allows any UTF-8 in their local part: so
// each part (the local part, the domain) gets the same mapping under the
// looser PRECIS FreeformClass with NFKC (which folds width and the other
// compatibility forms), refusing only control characters, unassigned and
// default-ignorable code points. For any valid username both folds agree,
// so a username that is an e-mail address folds alike under either.
// Lower-casing the local part is stricter than RFC 5321, which leaves its
// case to the receiving host; every mail provider people use ignores it,
// and two accounts whose addresses differ in case only are one person's.

// usernameProfile is the form of usernames.
var usernameProfile = precis.UsernameCaseMapped

// emailPartProfile is the form of each part of an e-mail address: NFKC
// first, so compatibility forms (full-width, ligatures, ℌ) lower-case as
// the letters they stand for, then lower case, then NFKC again for what
// lower-casing composed.
var emailPartProfile = precis.NewFreeform(
	precis.AdditionalMapping(func() transform.Transformer { return norm.NFKC }),
	precis.LowerCase(),
	precis.Norm(norm.NFKC),
	precis.DisallowEmpty,
)

// FoldUsername is the form in which usernames are kept unique and looked
// up (PRECIS UsernameCaseMapped). A name the profile refuses folds to its
// lower case: new names are refused before (ValidateNewAccount), so only
// a row stored before the profile applied, or a typed log-in that matches
// nothing, takes that form.
func FoldUsername(s string) string {
	if k, err := usernameProfile.String(s); err == nil {
		return k
	}
	return strings.ToLower(s)
}

// FoldEmail is the form in which e-mail addresses are kept unique and
// looked up: the local part and the domain each folded (emailPartProfile).
// An address the profile refuses folds to its lower case, as in
// FoldUsername.
func FoldEmail(s string) string {
	if k, ok := emailKey(s); ok {
		return k
	}
	return strings.ToLower(s)
}

// FoldText folds a fragment of a username or e-mail address, such as a
// search, as FoldEmail folds each part of an address: for valid names the
// same form as FoldUsername's.
func FoldText(s string) string {
	if k, err := emailPartProfile.String(s); err == nil {
		return k
	}
	return strings.ToLower(s)
}

func emailKey(s string) (string, bool) {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return "", false
	}
	local, err := emailPartProfile.String(s[:at])
	if err != nil {
		return "", false
	}
	domain, err := emailPartProfile.String(s[at+1:])
	if err != nil {
		return "", false
	}
	return local + "@" + domain, true
}

// usernameAllowed reports whether PRECIS UsernameCaseMapped takes u.
func usernameAllowed(u string) bool {
	_, err := usernameProfile.String(u)
	return err == nil
}

// emailAllowed reports whether both parts of e take the e-mail fold.
func emailAllowed(e string) bool {
	_, ok := emailKey(e)
	return ok
}
