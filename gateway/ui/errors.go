package ui

import (
	"net/http"
	"strings"

	"google.golang.org/grpc/status"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/grpcx"
)

// fieldNames maps the API's field names (lowerCamel) to the forms' field
// names, where they differ.
var fieldNames = map[string]string{
	"newPassword":        "new_password",
	"totpCode":           "code",
	"recoveryCode":       "recovery_code",
	"acceptTermsVersion": "",
	"tenant":             "tenant",
	"username":           "username",
	"password":           "password",
	"login":              "login",
	"currentPassword":    "current_password",
	"currentPin":         "current_pin",
	"newPin":             "new_pin",
	"newUsername":        "new_username",
	"displayName":        "display_name",
	"temporaryPassword":  "temporary_password",
}

// APIError turns a backend error into the form's errors: field violations
// next to their fields (translated by reason, "reason.<REASON>", else a
// generic text), the rest as a general message. It returns the errs kind,
// so a page can decide more (e.g. a spent ticket).
func (rq *Request) APIError(err error) *errs.Error {
	e := errorOf(err)
	switch e.Kind {
	case errs.KindInvalid, errs.KindConflict, errs.KindFailedPrecondition:
		placed := false
		for _, f := range e.Fields {
			name, known := fieldNames[f.Field]
			if !known {
				name = f.Field
			}
			if name == "" {
				continue
			}
			rq.FieldError(name, rq.reasonKey(f.Reason, "reason.INVALID"))
			placed = true
		}
		if !placed {
			rq.Error(rq.reasonKey(e.Reason, "error.invalid"))
		}
	case errs.KindTooManyAttempts:
		rq.Error("error.rate_limited")
		rq.Status(http.StatusTooManyRequests)
	case errs.KindUnavailable:
		rq.Error("error.unavailable")
		rq.Status(http.StatusServiceUnavailable)
	case errs.KindUnauthenticated, errs.KindPermissionDenied, errs.KindNotFound:
		rq.Error(rq.reasonKey(e.Reason, "error.refused"))
	default:
		// A person is needed for our failures, not for a visitor who went
		// away (Canceled) or a method this version lacks.
		rq.s.log.Log(rq.Ctx(), grpcx.HopLevel(status.Code(err)), "ui: backend call", "err", err)
		rq.Error("error.internal")
		rq.Status(http.StatusInternalServerError)
	}
	return e
}

// reasonKey is "reason.<reason>" when the catalog has it, else def.
func (rq *Request) reasonKey(reason, def string) string {
	if reason != "" {
		k := "reason." + strings.ToUpper(reason)
		if _, ok := rq.s.messages[defaultLanguage][k]; ok {
			return k
		}
	}
	return def
}

// errorOf is the errs view of a backend error.
func errorOf(err error) *errs.Error {
	var e *errs.Error
	if x, ok := errs.FromStatus(err).(*errs.Error); ok {
		e = x
	} else {
		e = &errs.Error{Kind: errs.KindInternal, Cause: err}
	}
	return e
}
