package password

import (
	_ "embed"
	"strings"
	"sync"
	"unicode"
)

// commonList is the 10,000 most common passwords from zxcvbn's frequency data
// plus a few additions; common.txt says where it came from and
// common-LICENSE.txt carries its licence.
//
//go:embed common.txt
var commonList string

// commonSet is built on first use so that a process that never checks a
// password pays nothing for it.
var commonSet = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{}, 10_100)
	for line := range strings.Lines(commonList) {
		line = strings.TrimRight(line, "\r\n")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		set[strings.ToLower(line)] = struct{}{}
	}
	return set
})

// isCommon reports whether plain is on the common list, ignoring case, as it
// is or once the digits and symbols that people add to meet a policy are
// taken off its end or start ("Password1!", "!!monkey", "2024dragon").
func isCommon(plain string) bool {
	set := commonSet()
	lower := strings.ToLower(plain)
	notLetter := func(r rune) bool { return !unicode.IsLetter(r) }
	for _, cand := range []string{
		lower,
		strings.TrimRightFunc(lower, notLetter),
		strings.TrimLeftFunc(lower, notLetter),
		strings.TrimFunc(lower, notLetter),
	} {
		if cand == "" {
			continue
		}
		if _, ok := set[cand]; ok {
			return true
		}
	}
	return false
}
