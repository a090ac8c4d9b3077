package authn

import (
	"strconv"
	"time"

	"github.com/latchkey/latchkey/libs/errs"
)

// ReauthMaxAge is how recent the last authentication must be for the calls
// API.md marks "needs reauth" (security settings: TOTP enrolment and
// removal, security questions, ...).
const ReauthMaxAge = 5 * time.Minute

// ReasonReauthenticationRequired is the reason of RequireRecentAuth's
// error. A client that gets it asks the user for the password again
// (POST /v1/auth/reauth), then repeats the call with the new access token.
const ReasonReauthenticationRequired = "REAUTHENTICATION_REQUIRED"

// RequireRecentAuth refuses, with PermissionDenied (HTTP 403) and reason
// REAUTHENTICATION_REQUIRED, an account whose last authentication
// (auth_time) is older than maxAge at now. It is PermissionDenied rather
// than Unauthenticated on purpose: the token is good, and a client that
// sees 401 would refresh it, which keeps auth_time and would loop; 403 with
// this reason says "prove it again". The metadata maxAgeSeconds tells the
// client how long the fresh token will admit such calls.
//
// Only accounts can re-authenticate: an operator token is refused with
// ACCESS_TOKEN_REQUIRED, and no caller at all with CREDENTIALS_MISSING.
func RequireRecentAuth(p *Principal, now time.Time, maxAge time.Duration) error {
	if p == nil {
		return errs.Unauthenticated("CREDENTIALS_MISSING", "this call needs an access token (Authorization: Bearer …)")
	}
	if p.Kind != KindAccount {
		return errs.PermissionDenied("ACCESS_TOKEN_REQUIRED", "this call is for a signed-in account")
	}
	if p.AuthTime.IsZero() || now.Sub(p.AuthTime) > maxAge {
		return errs.PermissionDenied(ReasonReauthenticationRequired, "confirm your password to continue").
			WithMetadata("maxAgeSeconds", strconv.Itoa(int(maxAge/time.Second)))
	}
	return nil
}
