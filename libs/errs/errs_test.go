package errs_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/latchkey/latchkey/libs/errs"
)

func TestGRPCStatus_MapsEveryKindToItsCode(t *testing.T) {
	cause := errors.New("dial tcp 10.0.0.7:5432: password=hunter2")
	tests := []struct {
		name   string
		err    *errs.Error
		code   codes.Code
		reason string
		msg    string
	}{
		{"invalid", errs.Invalid(errs.Field("name", "REQUIRED", "required")), codes.InvalidArgument, "REQUIRED", "invalid argument: name: required"},
		{"not found", errs.NotFound("ACCOUNT_NOT_FOUND", "account not found"), codes.NotFound, "ACCOUNT_NOT_FOUND", "account not found"},
		{"conflict", errs.Conflict("email", "LOGIN_ID_TAKEN", "login ID already in use"), codes.AlreadyExists, "LOGIN_ID_TAKEN", "login ID already in use"},
		{"failed precondition", errs.FailedPrecondition("ACCOUNT_ACTIVE", "account is already active"), codes.FailedPrecondition, "ACCOUNT_ACTIVE", "account is already active"},
		{"unauthenticated", errs.Unauthenticated("INVALID_CREDENTIALS", "invalid credentials"), codes.Unauthenticated, "INVALID_CREDENTIALS", "invalid credentials"},
		{"permission denied", errs.PermissionDenied("NOT_ADMIN", "admin role required"), codes.PermissionDenied, "NOT_ADMIN", "admin role required"},
		{"too many attempts", errs.TooManyAttempts("ACCOUNT_LOCKED", "too many failed attempts"), codes.ResourceExhausted, "ACCOUNT_LOCKED", "too many failed attempts"},
		{"unavailable hides cause", errs.Unavailable("ACCOUNT_SERVICE_DOWN", "account service unavailable", cause), codes.Unavailable, "ACCOUNT_SERVICE_DOWN", "account service unavailable"},
		{"unimplemented gets default reason", errs.Unimplemented("not supported"), codes.Unimplemented, "UNIMPLEMENTED", "not supported"},
		{"empty reason gets default", errs.NotFound("", ""), codes.NotFound, "NOT_FOUND", "not found"},
		{"cause never in message", errs.NotFound("X", "gone").WithCause(cause), codes.NotFound, "X", "gone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := tt.err.GRPCStatus()
			if st.Code() != tt.code || st.Message() != tt.msg {
				t.Fatalf("status = %v %q, want %v %q", st.Code(), st.Message(), tt.code, tt.msg)
			}
			info := errorInfo(t, st)
			if info.GetReason() != tt.reason || info.GetDomain() != errs.Domain {
				t.Errorf("ErrorInfo = %v, want reason %q domain %q", info, tt.reason, errs.Domain)
			}
			if strings.Contains(fmt.Sprint(st.Proto()), "hunter2") {
				t.Errorf("status leaks the cause: %v", st.Proto())
			}
		})
	}
}

func TestGRPCStatus_InternalSaysNothing(t *testing.T) {
	tests := []*errs.Error{
		{Message: "query failed for alice@example.com"},
		{Kind: errs.Kind(99), Message: "bogus kind"},
		{Kind: errs.KindInternal, Reason: "DB", Cause: errors.New("secret")},
	}
	for _, e := range tests {
		st := e.GRPCStatus()
		if st.Code() != codes.Internal || st.Message() != "internal error" || len(st.Details()) != 0 {
			t.Errorf("%#v → %v %q %v, want bare Internal", e, st.Code(), st.Message(), st.Details())
		}
	}
}

func TestInvalid_ListsEveryFieldInMessageAndDetails(t *testing.T) {
	var v errs.Violations
	v.Add("code", "INVALID_FORMAT", "must be 2–32 characters of a-z, 0-9, _ and -")
	v.Add("name", "REQUIRED", "required")
	v.Add("policy.password.minLength", "TOO_SMALL", "")
	err := v.Err()
	if err == nil {
		t.Fatal("Err() = nil with violations")
	}
	want := "invalid argument: code: must be 2–32 characters of a-z, 0-9, _ and -; name: required; policy.password.minLength: too small"
	if err.Error() != want {
		t.Errorf("Error() = %q\nwant      %q", err.Error(), want)
	}
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument || st.Message() != want {
		t.Errorf("status = %v %q", st.Code(), st.Message())
	}
	if got := errorInfo(t, st).GetReason(); got != "INVALID_ARGUMENT" {
		t.Errorf("reason with several fields = %q, want INVALID_ARGUMENT", got)
	}
	br := badRequest(t, st)
	if len(br.GetFieldViolations()) != 3 {
		t.Fatalf("violations = %v", br.GetFieldViolations())
	}
	if fv := br.GetFieldViolations()[0]; fv.GetField() != "code" || fv.GetReason() != "INVALID_FORMAT" {
		t.Errorf("first violation = %v", fv)
	}
}

func TestViolations_ErrIsUntypedNilWhenEmpty(t *testing.T) {
	var v errs.Violations
	if err := v.Err(); err != nil {
		t.Fatalf("Err() = %#v, want nil", err)
	}
}

func TestConflict_NamesTheField(t *testing.T) {
	tests := []struct {
		field      string
		violations int
	}{{"email", 1}, {"", 0}}
	for _, tt := range tests {
		st := errs.Conflict(tt.field, "LOGIN_ID_TAKEN", "login ID already in use").GRPCStatus()
		var got []*errdetails.BadRequest_FieldViolation
		for _, d := range st.Details() {
			if br, ok := d.(*errdetails.BadRequest); ok {
				got = br.GetFieldViolations()
			}
		}
		if len(got) != tt.violations {
			t.Fatalf("field %q: violations = %v, want %d", tt.field, got, tt.violations)
		}
		if tt.violations == 1 && (got[0].GetField() != "email" || got[0].GetReason() != "LOGIN_ID_TAKEN") {
			t.Errorf("violation = %v", got[0])
		}
	}
}

func TestKindOf_FindsWrappedErrors(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want errs.Kind
	}{
		{"direct", errs.NotFound("X", "x"), errs.KindNotFound},
		{"wrapped", fmt.Errorf("loading: %w", errs.TooManyAttempts("X", "x")), errs.KindTooManyAttempts},
		{"plain error", errors.New("boom"), errs.KindInternal},
		{"nil", nil, errs.KindInternal},
		{"zero Error", &errs.Error{}, errs.KindInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errs.KindOf(tt.err); got != tt.want {
				t.Errorf("KindOf = %v, want %v", got, tt.want)
			}
		})
	}
	if errs.Is(nil, errs.KindInternal) {
		t.Error("Is(nil, KindInternal) = true")
	}
	if !errs.Is(fmt.Errorf("x: %w", errs.Unimplemented("no")), errs.KindUnimplemented) {
		t.Error("Is misses a wrapped kind")
	}
}

func TestError_KeepsCauseForLogsAndErrorsIs(t *testing.T) {
	cause := context.DeadlineExceeded
	err := errs.Unavailable("DB_DOWN", "store unavailable", cause)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Error("errors.Is does not reach the cause")
	}
	if got, want := err.Error(), "store unavailable: context deadline exceeded"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestFromStatus_RoundTripsWhatADownstreamServiceSaid(t *testing.T) {
	downstream := errs.Invalid(
		errs.Field("email", "INVALID_FORMAT", "not an e-mail address"),
	).WithMetadata("tenant", "acme")
	// What a client receives is a status error rebuilt from the wire form.
	wire := status.ErrorProto(downstream.GRPCStatus().Proto())

	got := errs.FromStatus(wire)
	var e *errs.Error
	if !errors.As(got, &e) {
		t.Fatalf("FromStatus = %T, want *errs.Error", got)
	}
	if e.Kind != errs.KindInvalid || e.Reason != "INVALID_FORMAT" || e.Message != downstream.Message || e.Metadata["tenant"] != "acme" {
		t.Errorf("got %+v", e)
	}
	if len(e.Fields) != 1 || e.Fields[0] != downstream.Fields[0] {
		t.Errorf("fields = %+v, want %+v", e.Fields, downstream.Fields)
	}
	if !errors.Is(got, wire) {
		t.Error("cause is not the original status error")
	}
}

func TestFromStatus_MapsCodes(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want errs.Kind
		msg  string
	}{
		{"not found", status.Error(codes.NotFound, "account not found"), errs.KindNotFound, "account not found"},
		{"already exists", status.Error(codes.AlreadyExists, "taken"), errs.KindConflict, "taken"},
		{"precondition", status.Error(codes.FailedPrecondition, "locked"), errs.KindFailedPrecondition, "locked"},
		{"unauthenticated", status.Error(codes.Unauthenticated, "no"), errs.KindUnauthenticated, "no"},
		{"permission", status.Error(codes.PermissionDenied, "no"), errs.KindPermissionDenied, "no"},
		{"exhausted", status.Error(codes.ResourceExhausted, "slow down"), errs.KindTooManyAttempts, "slow down"},
		{"unavailable", status.Error(codes.Unavailable, "connection refused"), errs.KindUnavailable, "connection refused"},
		{"deadline status", status.Error(codes.DeadlineExceeded, "deadline"), errs.KindUnavailable, "deadline"},
		{"deadline context", fmt.Errorf("call: %w", context.DeadlineExceeded), errs.KindUnavailable, "deadline exceeded"},
		{"unimplemented", status.Error(codes.Unimplemented, "nope"), errs.KindUnimplemented, "nope"},
		{"internal hides text", status.Error(codes.Internal, "pq: relation users"), errs.KindInternal, "internal error"},
		{"unknown hides text", status.Error(codes.Unknown, "panic: secret"), errs.KindInternal, "internal error"},
		{"data loss", status.Error(codes.DataLoss, "x"), errs.KindInternal, "internal error"},
		{"not a status", errors.New("plain"), errs.KindInternal, "internal error"},
		{"wrapped by grpc retries", fmt.Errorf("max retries exhausted: failed after 4 attempts: %w", status.Error(codes.Unavailable, "store unavailable")), errs.KindUnavailable, "store unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := errs.FromStatus(tt.err)
			if k := errs.KindOf(got); k != tt.want {
				t.Errorf("kind = %v, want %v", k, tt.want)
			}
			if st := status.Convert(got); st.Message() != tt.msg || st.Code() != tt.want.Code() {
				t.Errorf("status = %v %q, want %v %q", st.Code(), st.Message(), tt.want.Code(), tt.msg)
			}
		})
	}
	if errs.FromStatus(nil) != nil {
		t.Error("FromStatus(nil) != nil")
	}
	own := errs.NotFound("X", "x")
	if errs.FromStatus(own) != error(own) {
		t.Error("FromStatus changed an *errs.Error")
	}
}

func errorInfo(t *testing.T, st *status.Status) *errdetails.ErrorInfo {
	t.Helper()
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info
		}
	}
	t.Fatalf("no ErrorInfo in %v", st.Details())
	return nil
}

func badRequest(t *testing.T, st *status.Status) *errdetails.BadRequest {
	t.Helper()
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			return br
		}
	}
	t.Fatalf("no BadRequest in %v", st.Details())
	return nil
}

func TestJoinInvalid(t *testing.T) {
	a := errs.Invalid(errs.Field("code", "REQUIRED", "required"))
	b := errs.Invalid(errs.Field("name", "REQUIRED", "required"), errs.Field("policy.x", "OUT_OF_RANGE", "no"))
	got := errs.JoinInvalid(nil, a, nil, b)
	e, ok := got.(*errs.Error)
	if !ok || e.Kind != errs.KindInvalid || len(e.Fields) != 3 || e.Fields[0].Field != "code" || e.Fields[2].Field != "policy.x" {
		t.Fatalf("JoinInvalid = %#v", got)
	}
	if errs.JoinInvalid(nil, nil) != nil {
		t.Fatal("JoinInvalid of nils is not nil")
	}
	nf := errs.NotFound("X", "x")
	if errs.JoinInvalid(a, nf) != error(nf) {
		t.Fatal("a non-validation error was not returned as is")
	}
}
