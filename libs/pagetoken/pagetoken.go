// Package pagetoken makes the opaque page tokens of keyset pagination and
// reads them back, and checks page sizes, the same way in every list call.
package pagetoken

import (
	"encoding/base64"
	"strings"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/ids"
)

// Page sizes.
const (
	DefaultSize = 50
	MaxSize     = 500
)

const version = "v1:"

// Encode returns the token of the page that starts after the row with id
// lastID.
func Encode(lastID string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(version + lastID))
}

// Decode returns the id a token starts after ("" for an empty token, the
// first page). A token that is not one of ours is InvalidArgument on
// "pageToken".
func Decode(token string) (string, error) {
	if token == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	id, ok := strings.CutPrefix(string(b), version)
	if err != nil || !ok || !ids.Valid(id) {
		return "", errs.Invalid(errs.Field("pageToken", "INVALID_PAGE_TOKEN", "not a page token from a previous answer"))
	}
	return id, nil
}

// Size returns the page size to use for a requested one: the default for 0,
// InvalidArgument on "pageSize" when negative, at most MaxSize.
func Size(requested int32) (int, error) {
	switch {
	case requested < 0:
		return 0, errs.Invalid(errs.Field("pageSize", "OUT_OF_RANGE", "must not be negative"))
	case requested == 0:
		return DefaultSize, nil
	case requested > MaxSize:
		return MaxSize, nil
	}
	return int(requested), nil
}
