package password

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/latchkey/latchkey/libs/errs"
)

// DefaultMaxLength is the maximum password length, in characters, when a
// policy sets none. A maximum exists only to bound hashing input; 128 is far
// above any password a person types or a manager generates.
const DefaultMaxLength = 128

// Reasons of the field violations Check returns; clients switch on them.
const (
	ReasonTooShort         = "PASSWORD_TOO_SHORT"
	ReasonTooLong          = "PASSWORD_TOO_LONG"
	ReasonNeedsUppercase   = "PASSWORD_NEEDS_UPPERCASE"
	ReasonNeedsLowercase   = "PASSWORD_NEEDS_LOWERCASE"
	ReasonNeedsDigit       = "PASSWORD_NEEDS_DIGIT"
	ReasonNeedsSymbol      = "PASSWORD_NEEDS_SYMBOL"
	ReasonTooCommon        = "PASSWORD_TOO_COMMON"
	ReasonContainsPersonal = "PASSWORD_CONTAINS_PERSONAL_INFO"
	ReasonBreached         = "PASSWORD_BREACHED"
)

// Rules is a tenant's password policy, as the account service holds it.
//
// Lengths count characters (Unicode code points), not bytes, so that "ü"
// counts once. The character classes are:
//   - uppercase and lowercase: letters with that case (unicode.IsUpper,
//     unicode.IsLower), in any script;
//   - digit: unicode.IsDigit (decimal digits of any script);
//   - symbol: punctuation and symbol characters (Unicode categories P and S),
//     such as ! # _ € ©.
//
// Spaces are allowed and count toward the length, but are not symbols, so a
// passphrase of plain words needs a real symbol where a policy asks for one.
// Letters without case (such as Chinese) count toward the length only.
type Rules struct {
	// MinLength is the minimum number of characters; at least 1 applies even
	// when it is 0, because an empty password is never accepted.
	MinLength int
	// MaxLength is the maximum number of characters; 0 means DefaultMaxLength.
	MaxLength int
	// MinUppercase is the minimum number of uppercase letters.
	MinUppercase int
	// MinLowercase is the minimum number of lowercase letters.
	MinLowercase int
	// MinDigits is the minimum number of digits.
	MinDigits int
	// MinSymbols is the minimum number of symbols.
	MinSymbols int
	// CheckBreached turns on the breached-password check, when the Checker
	// has a BreachedList.
	CheckBreached bool
}

// Personal is what a password may not contain because an attacker who knows
// the account knows it too.
type Personal struct {
	// Username is the log-in name (in Latchkey usually the e-mail address).
	Username string
	// Email is the account's e-mail address; its local part is checked.
	Email string
	// DisplayName is the name shown for the account; each word is checked.
	DisplayName string
}

// minPersonalToken is the shortest personal word checked: shorter ones
// ("Al", "Li") occur in too many good passwords by chance.
const minPersonalToken = 3

// Checker checks passwords against a policy, the built-in list of common
// passwords, the account's personal data and, when Breached is set, a list
// of breached passwords. The zero value (and a nil *Checker) checks
// everything but breaches. It is safe for concurrent use.
type Checker struct {
	// Breached, when not nil, is consulted for rules with CheckBreached.
	Breached *BreachedList
}

// Check checks plain with a Checker that has no breached list; see
// (*Checker).Check.
func Check(plain string, r Rules, who Personal, field string) error {
	return (*Checker)(nil).Check(plain, r, who, field)
}

// Check returns nil when plain satisfies r, or an errs.Invalid error with one
// field violation on field (such as "newPassword") for every rule it breaks,
// so that a form can show them all at once. Besides the policy's own rules it
// always refuses a password on the built-in list of the most common passwords
// (also when only trailing or leading digits and symbols were added, as in
// "Password1!") and one that contains the username, the e-mail local part or
// a word of the display name (from 3 characters, ignoring case).
//
// Descriptions are English and say what is needed ("at least 2 uppercase
// letters"); they never repeat the password.
func (c *Checker) Check(plain string, r Rules, who Personal, field string) error {
	var v errs.Violations
	n := utf8.RuneCountInString(plain)
	if minLen := max(r.MinLength, 1); n < minLen {
		v.Add(field, ReasonTooShort, "must be "+atLeast(minLen, "character"))
	}
	maxLen := r.MaxLength
	if maxLen <= 0 {
		maxLen = DefaultMaxLength
	}
	if n > maxLen {
		v.Add(field, ReasonTooLong, fmt.Sprintf("must be at most %d characters", maxLen))
	}

	var upper, lower, digits, symbols int
	for _, ch := range plain {
		switch {
		case unicode.IsUpper(ch):
			upper++
		case unicode.IsLower(ch):
			lower++
		case unicode.IsDigit(ch):
			digits++
		case unicode.IsPunct(ch) || unicode.IsSymbol(ch):
			symbols++
		}
	}
	for _, cls := range []struct {
		have, want int
		reason     string
		noun       string
	}{
		{upper, r.MinUppercase, ReasonNeedsUppercase, "uppercase letter"},
		{lower, r.MinLowercase, ReasonNeedsLowercase, "lowercase letter"},
		{digits, r.MinDigits, ReasonNeedsDigit, "digit"},
		{symbols, r.MinSymbols, ReasonNeedsSymbol, "symbol"},
	} {
		if cls.have < cls.want {
			v.Add(field, cls.reason, "needs "+atLeast(cls.want, cls.noun))
		}
	}

	if isCommon(plain) {
		v.Add(field, ReasonTooCommon, "is one of the most commonly used passwords")
	}
	if containsPersonal(plain, who) {
		v.Add(field, ReasonContainsPersonal, "must not contain your name, username or e-mail address")
	}
	if r.CheckBreached && c != nil && c.Breached != nil && c.Breached.Contains(plain) {
		v.Add(field, ReasonBreached, "has appeared in a data breach; choose another")
	}
	return v.Err()
}

// atLeast says "at least 1 digit" or "at least 2 digits".
func atLeast(n int, noun string) string {
	if n == 1 {
		return "at least 1 " + noun
	}
	return fmt.Sprintf("at least %d %ss", n, noun)
}

// containsPersonal reports whether plain contains, ignoring case, the
// username, the local part of the e-mail (and of a username that is an
// e-mail) or any of their words split at punctuation, or a display-name word.
func containsPersonal(plain string, who Personal) bool {
	lower := strings.ToLower(plain)
	for _, tok := range personalTokens(who) {
		if strings.Contains(lower, tok) {
			return true
		}
	}
	return false
}

func personalTokens(who Personal) []string {
	var toks []string
	add := func(s string) {
		s = strings.ToLower(strings.TrimSpace(s))
		if utf8.RuneCountInString(s) >= minPersonalToken {
			toks = append(toks, s)
		}
	}
	// Words of a name or address: "john.smith+work" gives john, smith, work.
	addWords := func(s string) {
		for _, w := range strings.FieldsFunc(s, func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsDigit(r)
		}) {
			add(w)
		}
	}
	for _, id := range []string{who.Username, who.Email} {
		add(id)
		if local, _, ok := strings.Cut(id, "@"); ok {
			add(local)
			addWords(local)
		} else {
			addWords(id)
		}
	}
	addWords(who.DisplayName)
	return toks
}
