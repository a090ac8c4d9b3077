// Package errs is the one error vocabulary of the Latchkey domain.
//
// Domain and application code return *Error values built with the
// constructors below; they know nothing about transports. Because *Error
// implements GRPCStatus, a gRPC handler can return it unchanged and the
// client receives the matching code with ErrorInfo and BadRequest details,
// which grpc-gateway in turn maps to HTTP. Anything that is not an *Error is
// an internal error: its text goes to the log, never to the client.
package errs

import (
	"errors"
	"strings"
)

// Domain is the ErrorInfo domain of every error Latchkey services return, so
// a client can tell our reasons apart from those of proxies or libraries.
const Domain = "latchkey.dev"

// Kind says what went wrong from the client's point of view; it is what
// picks the gRPC code and HTTP status.
type Kind int

// The kinds carry a Kind prefix because the plain names belong to the
// constructors (errs.NotFound(...)). The zero Kind is KindInternal so that
// an Error built without a kind fails closed: the client learns nothing but
// "internal error".
const (
	// KindInternal is a failure the client cannot fix; details only in the log.
	KindInternal Kind = iota
	// KindInvalid means the request itself is malformed; Fields says where.
	KindInvalid
	// KindNotFound means the addressed resource does not exist (or the caller
	// may not know that it does).
	KindNotFound
	// KindConflict means the request clashes with existing state, such as a
	// login ID already taken.
	KindConflict
	// KindFailedPrecondition means the system is not in a state that allows the
	// operation, such as activating an account that is already active.
	KindFailedPrecondition
	// KindUnauthenticated means the caller's identity could not be established
	// (bad credentials, expired or revoked token).
	KindUnauthenticated
	// KindPermissionDenied means the caller is known but not allowed.
	KindPermissionDenied
	// KindTooManyAttempts means a rate limit or lockout counter was hit.
	KindTooManyAttempts
	// KindUnavailable means a dependency could not be reached and the call had
	// no effect, so the client may retry it.
	KindUnavailable
	// KindUnimplemented means the operation is not supported by this server.
	KindUnimplemented
)

var kindNames = [...]string{
	KindInternal:           "internal",
	KindInvalid:            "invalid argument",
	KindNotFound:           "not found",
	KindConflict:           "conflict",
	KindFailedPrecondition: "failed precondition",
	KindUnauthenticated:    "unauthenticated",
	KindPermissionDenied:   "permission denied",
	KindTooManyAttempts:    "too many attempts",
	KindUnavailable:        "unavailable",
	KindUnimplemented:      "unimplemented",
}

// defaultReasons fill ErrorInfo.Reason when a constructor was given none:
// clients switch on the reason, so it must never be empty.
var defaultReasons = [...]string{
	KindInvalid:            "INVALID_ARGUMENT",
	KindNotFound:           "NOT_FOUND",
	KindConflict:           "ALREADY_EXISTS",
	KindFailedPrecondition: "FAILED_PRECONDITION",
	KindUnauthenticated:    "UNAUTHENTICATED",
	KindPermissionDenied:   "PERMISSION_DENIED",
	KindTooManyAttempts:    "TOO_MANY_ATTEMPTS",
	KindUnavailable:        "UNAVAILABLE",
	KindUnimplemented:      "UNIMPLEMENTED",
}

// String returns the kind in words, for logs and default messages.
func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return kindNames[KindInternal]
	}
	return kindNames[k]
}

func (k Kind) valid() bool { return k > KindInternal && int(k) < len(kindNames) }

// FieldViolation names one bad field of a request.
type FieldViolation struct {
	// Field is the path as the client sent it, in lowerCamel JSON/proto
	// names: "code", "policy.password.minLength", "firstAdmin.email".
	Field string
	// Reason is a stable UPPER_SNAKE code a client can switch on, such as
	// REQUIRED, TOO_LONG, INVALID_FORMAT or PASSWORD_TOO_SHORT.
	Reason string
	// Description is a short English explanation for developers.
	Description string
}

// Error is a domain error that knows which Kind it is.
type Error struct {
	// Kind picks the gRPC code.
	Kind Kind
	// Reason is the stable UPPER_SNAKE ErrorInfo reason.
	Reason string
	// Message is what the client sees; it must not contain secrets or
	// internal detail.
	Message string
	// Fields lists the offending request fields (Invalid, Conflict).
	Fields []FieldViolation
	// Metadata goes to ErrorInfo.Metadata, e.g. {"retryAfterSeconds": "30"}.
	Metadata map[string]string
	// Cause is the underlying error, kept for logs and errors.Is/As; it is
	// never sent to the client.
	Cause error
}

// Error returns the message followed by the cause, for logs. The client
// never sees this text: GRPCStatus uses Message alone.
func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = e.Kind.String()
	}
	if e.Cause != nil {
		return msg + ": " + e.Cause.Error()
	}
	return msg
}

// Unwrap exposes the cause to errors.Is and errors.As.
func (e *Error) Unwrap() error { return e.Cause }

// WithMetadata adds one ErrorInfo metadata entry and returns e, so it can be
// chained onto a constructor.
func (e *Error) WithMetadata(key, value string) *Error {
	if e.Metadata == nil {
		e.Metadata = make(map[string]string)
	}
	e.Metadata[key] = value
	return e
}

// WithCause records the underlying error for the log and returns e.
func (e *Error) WithCause(cause error) *Error {
	e.Cause = cause
	return e
}

// Field builds a FieldViolation; it exists so call sites read as a sentence:
// errs.Invalid(errs.Field("code", "REQUIRED", "required")).
func Field(field, reason, description string) FieldViolation {
	return FieldViolation{Field: field, Reason: reason, Description: description}
}

// Invalid reports a malformed request. The message lists every field so a
// developer reading only the message still learns everything, e.g.
// "invalid argument: code: must be 2–32 characters; name: required".
// With exactly one field, its reason becomes the error's reason (clients
// can switch on PASSWORD_TOO_SHORT directly); with several, the reason is
// INVALID_ARGUMENT and the client reads the field violations.
func Invalid(fields ...FieldViolation) *Error {
	e := &Error{Kind: KindInvalid, Fields: fields, Reason: defaultReasons[KindInvalid]}
	if len(fields) == 1 && fields[0].Reason != "" {
		e.Reason = fields[0].Reason
	}
	var b strings.Builder
	b.WriteString("invalid argument")
	for i, f := range fields {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(f.Field)
		b.WriteString(": ")
		if f.Description != "" {
			b.WriteString(f.Description)
		} else {
			b.WriteString(strings.ToLower(strings.ReplaceAll(f.Reason, "_", " ")))
		}
	}
	e.Message = b.String()
	return e
}

// Violations collects field violations while validating a whole request, so
// the client learns about every bad field in one round trip. The zero value
// is ready to use.
type Violations []FieldViolation

// Add records one violation.
func (v *Violations) Add(field, reason, description string) {
	*v = append(*v, Field(field, reason, description))
}

// Err returns an Invalid error listing all violations, or a nil error when
// there are none. It returns the error interface (not *Error) so that
// `if err := v.Err(); err != nil` cannot be fooled by a typed nil.
func (v Violations) Err() error {
	if len(v) == 0 {
		return nil
	}
	return Invalid(v...)
}

// Conflict reports a clash with existing state. When field is not empty
// the client also gets a field violation naming it, so a form can mark the
// input that collided (for example "email" with LOGIN_ID_TAKEN).
func Conflict(field, reason, message string) *Error {
	e := newError(KindConflict, reason, message)
	if field != "" {
		e.Fields = []FieldViolation{{Field: field, Reason: e.Reason, Description: message}}
	}
	return e
}

// NotFound reports that the addressed resource does not exist.
func NotFound(reason, message string) *Error { return newError(KindNotFound, reason, message) }

// FailedPrecondition reports that the current state forbids the operation.
func FailedPrecondition(reason, message string) *Error {
	return newError(KindFailedPrecondition, reason, message)
}

// Unauthenticated reports that the caller's identity was not established.
// Keep message vague: log-in failures must not say which part was wrong.
func Unauthenticated(reason, message string) *Error {
	return newError(KindUnauthenticated, reason, message)
}

// PermissionDenied reports that a known caller is not allowed.
func PermissionDenied(reason, message string) *Error {
	return newError(KindPermissionDenied, reason, message)
}

// TooManyAttempts reports a hit rate limit or lockout counter.
func TooManyAttempts(reason, message string) *Error {
	return newError(KindTooManyAttempts, reason, message)
}

// Unavailable reports that a dependency could not be reached. The caller
// gets it at once (grpcx.Dial retries no handler's answer) and, through
// the gateway, as a 503 it may repeat, so return it only when the call had
// no effect and repeating it is safe. The cause is logged, never sent.
func Unavailable(reason, message string, cause error) *Error {
	e := newError(KindUnavailable, reason, message)
	e.Cause = cause
	return e
}

// Unimplemented reports an operation this server does not support.
func Unimplemented(message string) *Error { return newError(KindUnimplemented, "", message) }

func newError(k Kind, reason, message string) *Error {
	if reason == "" {
		reason = defaultReasons[k]
	}
	if message == "" {
		message = k.String()
	}
	return &Error{Kind: k, Reason: reason, Message: message}
}

// KindOf returns the Kind of the first *Error in err's chain, or KindInternal
// when there is none (including for a nil err: check err != nil first).
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) && e.Kind.valid() {
		return e.Kind
	}
	return KindInternal
}

// Is reports whether err is a non-nil error of kind k.
func Is(err error, k Kind) bool {
	return err != nil && KindOf(err) == k
}

// JoinInvalid merges validation errors into one listing every field, so a
// form can show all its problems at once. nil errors are skipped; when any
// error is not a KindInvalid *Error, the first such error is returned as is.
func JoinInvalid(errors ...error) error {
	var fields []FieldViolation
	for _, err := range errors {
		if err == nil {
			continue
		}
		e, ok := err.(*Error)
		if !ok || e.Kind != KindInvalid {
			return err
		}
		fields = append(fields, e.Fields...)
	}
	if len(fields) == 0 {
		return nil
	}
	return Invalid(fields...)
}
