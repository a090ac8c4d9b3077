// Package ids makes the identifiers of every row and event: UUIDv7, whose
// leading timestamp keeps them in creation order, so keyset pagination by id
// follows creation time and indexes stay append-mostly.
package ids

import (
	"github.com/google/uuid"

	"github.com/latchkey/latchkey/libs/errs"
)

// New returns a new UUIDv7 in its canonical text form.
func New() string {
	id, err := uuid.NewV7()
	if err != nil {
		// NewV7 fails only when the system's random source does; nothing
		// sensible can continue without one.
		panic("ids: no randomness: " + err.Error())
	}
	return id.String()
}

// Valid reports whether s is a UUID in canonical lower-case text form, the
// only form Latchkey hands out. Checking it before a query turns a bad id
// into a clear field error instead of a database error.
func Valid(s string) bool {
	if len(s) != 36 {
		return false
	}
	id, err := uuid.Parse(s)
	return err == nil && id.String() == s
}

// Reasons of Check's field violations, stable for clients.
const (
	ReasonRequired      = "REQUIRED"
	ReasonInvalidFormat = "INVALID_FORMAT"
)

// Check is the one check of an id in a request, for every service: nil for
// an id Latchkey gave out (Valid), else an errs Invalid on field, REQUIRED
// when id is empty and INVALID_FORMAT otherwise.
func Check(field, id string) error {
	switch {
	case id == "":
		return errs.Invalid(errs.Field(field, ReasonRequired, "an id is required"))
	case !Valid(id):
		return errs.Invalid(errs.Field(field, ReasonInvalidFormat, "not an id Latchkey gave out"))
	}
	return nil
}
