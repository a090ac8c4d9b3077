package password

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/latchkey/latchkey/libs/errs"
)

// PIN lengths that apply when a tenant sets none.
const (
	DefaultPINMinLength = 4
	DefaultPINMaxLength = 8
)

// Reasons of the field violations CheckPIN returns.
const (
	ReasonPINNotNumeric  = "PIN_NOT_NUMERIC"
	ReasonPINWrongLength = "PIN_WRONG_LENGTH"
	ReasonPINTooSimple   = "PIN_TOO_SIMPLE"
)

// CheckPIN returns nil when pin is acceptable, or an errs.Invalid error on
// field with a violation for every rule it breaks:
//   - PIN_NOT_NUMERIC: only the ASCII digits 0–9, since PIN pads have no others;
//   - PIN_WRONG_LENGTH: exactly length digits when length > 0, else 4–8;
//   - PIN_TOO_SIMPLE: one of the patterns tried first by anyone guessing.
//
// Too simple means: one digit repeated (1111); a run of consecutive digits up
// or down, where 9 and 0 are neighbours as on a keypad row (1234, 4321, 0123,
// 9876, 7890, 8901); or a shorter block repeated to fill the PIN (1212,
// 121212, 123123, 12341234). The last rule applies from 4 digits on,
// because 1212 is among the five most used 4-digit PINs. Dates and years are
// not refused: they are guessable only for someone who knows the user, and
// refusing them all would remove a large share of the 4-digit space.
func CheckPIN(pin string, length int, field string) error {
	var v errs.Violations
	numeric := pin != "" && strings.Trim(pin, "0123456789") == ""
	if !numeric {
		v.Add(field, ReasonPINNotNumeric, "must contain only digits")
	}
	n := utf8.RuneCountInString(pin)
	switch {
	case length > 0 && n != length:
		v.Add(field, ReasonPINWrongLength, fmt.Sprintf("must be exactly %d digits", length))
	case length <= 0 && (n < DefaultPINMinLength || n > DefaultPINMaxLength):
		v.Add(field, ReasonPINWrongLength,
			fmt.Sprintf("must be %d–%d digits", DefaultPINMinLength, DefaultPINMaxLength))
	}
	if numeric && simplePIN(pin) {
		v.Add(field, ReasonPINTooSimple, "must not be a repeated digit, a run like 1234 or a repeated pattern like 1212")
	}
	return v.Err()
}

// simplePIN reports whether the all-digit pin follows one of the patterns
// CheckPIN refuses.
func simplePIN(pin string) bool {
	if len(pin) < 2 {
		return false
	}
	// All differences equal to 0 (repeat), +1 or -1 (mod 10, runs).
	for _, step := range []int{0, 1, 9} {
		run := true
		for i := 1; i < len(pin) && run; i++ {
			run = (int(pin[i])-int(pin[i-1])+10)%10 == step
		}
		if run {
			return true
		}
	}
	// A block of 2..len/2 digits repeated a whole number of times.
	for p := 2; p <= len(pin)/2; p++ {
		if len(pin)%p == 0 && strings.Repeat(pin[:p], len(pin)/p) == pin {
			return true
		}
	}
	return false
}
