package errs

import (
	"context"
	"errors"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
)

// internalMessage is all a client ever learns about an internal error.
const internalMessage = "internal error"

var kindCodes = [...]codes.Code{
	KindInternal:           codes.Internal,
	KindInvalid:            codes.InvalidArgument,
	KindNotFound:           codes.NotFound,
	KindConflict:           codes.AlreadyExists,
	KindFailedPrecondition: codes.FailedPrecondition,
	KindUnauthenticated:    codes.Unauthenticated,
	KindPermissionDenied:   codes.PermissionDenied,
	KindTooManyAttempts:    codes.ResourceExhausted,
	KindUnavailable:        codes.Unavailable,
	KindUnimplemented:      codes.Unimplemented,
}

// Code returns the gRPC code the kind maps to.
func (k Kind) Code() codes.Code {
	if !k.valid() {
		return codes.Internal
	}
	return kindCodes[k]
}

// GRPCStatus makes *Error a gRPC status error: grpc-go calls it when a
// handler returns the error, so handlers need no mapping code. The status
// carries Message (never Cause), an ErrorInfo with the reason and, when
// fields are known, a BadRequest. An Internal error always reads
// "internal error", whatever its Message, because nothing about it is meant
// for the client.
func (e *Error) GRPCStatus() *status.Status {
	if !e.Kind.valid() {
		return status.New(codes.Internal, internalMessage)
	}
	msg := e.Message
	if msg == "" {
		msg = e.Kind.String()
	}
	st := status.New(e.Kind.Code(), msg)

	reason := e.Reason
	if reason == "" {
		reason = defaultReasons[e.Kind]
	}
	details := []protoadapt.MessageV1{&errdetails.ErrorInfo{Reason: reason, Domain: Domain, Metadata: e.Metadata}}
	if len(e.Fields) > 0 {
		br := &errdetails.BadRequest{}
		for _, f := range e.Fields {
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
				Field: f.Field, Reason: f.Reason, Description: f.Description,
			})
		}
		details = append(details, br)
	}
	if withDetails, err := st.WithDetails(details...); err == nil {
		return withDetails
	}
	// Marshalling these well-known messages cannot fail in practice; the
	// bare status is still the right code and message.
	return st
}

var codeKinds = map[codes.Code]Kind{
	codes.InvalidArgument:    KindInvalid,
	codes.NotFound:           KindNotFound,
	codes.AlreadyExists:      KindConflict,
	codes.FailedPrecondition: KindFailedPrecondition,
	codes.Unauthenticated:    KindUnauthenticated,
	codes.PermissionDenied:   KindPermissionDenied,
	codes.ResourceExhausted:  KindTooManyAttempts,
	codes.Unavailable:        KindUnavailable,
	codes.DeadlineExceeded:   KindUnavailable,
	codes.Unimplemented:      KindUnimplemented,
}

// FromStatus turns an error returned by a gRPC client call into an *Error,
// so a use case that calls another service can propagate what that service
// said (InvalidArgument with its fields, NotFound with its reason, ...)
// through the same vocabulary. UNAVAILABLE and DEADLINE_EXCEEDED become
// Unavailable; every other code, and any error that is not a gRPC status,
// becomes Internal, so a downstream failure never leaks to our client. The
// original error is kept as Cause for the log. A nil err stays nil and an
// *Error is returned as it is.
func FromStatus(err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &Error{Kind: KindUnavailable, Reason: defaultReasons[KindUnavailable], Message: "deadline exceeded", Cause: err}
	}
	// Take the innermost status as the server sent it: status.FromError
	// would replace its message with err.Error(), and grpc-go itself wraps
	// errors ("max retries exhausted: failed after 4 attempts: ...").
	var gs interface{ GRPCStatus() *status.Status }
	if !errors.As(err, &gs) || gs.GRPCStatus() == nil {
		return &Error{Kind: KindInternal, Message: internalMessage, Cause: err}
	}
	st := gs.GRPCStatus()
	k, known := codeKinds[st.Code()]
	if !known {
		return &Error{Kind: KindInternal, Message: internalMessage, Cause: err}
	}
	out := &Error{Kind: k, Message: st.Message(), Cause: err}
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			out.Reason = d.GetReason()
			if len(d.GetMetadata()) > 0 {
				out.Metadata = d.GetMetadata()
			}
		case *errdetails.BadRequest:
			for _, f := range d.GetFieldViolations() {
				out.Fields = append(out.Fields, FieldViolation{
					Field: f.GetField(), Reason: f.GetReason(), Description: f.GetDescription(),
				})
			}
		}
	}
	if out.Reason == "" {
		out.Reason = defaultReasons[k]
	}
	return out
}
