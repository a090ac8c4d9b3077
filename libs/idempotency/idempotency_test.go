package idempotency_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/idempotency"
)

func withKey(keys ...string) context.Context {
	md := metadata.MD{}
	for _, k := range keys {
		md.Append(idempotency.MetadataKey, k)
	}
	return metadata.NewIncomingContext(context.Background(), md)
}

// wantHeaderError wants an errs error of kind with reason, naming the
// Idempotency-Key header.
func wantHeaderError(t *testing.T, err error, kind errs.Kind, reason string) {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind != kind || e.Reason != reason || len(e.Fields) != 1 || e.Fields[0].Field != "Idempotency-Key" {
		t.Fatalf("error %v, want %v %s naming Idempotency-Key", err, kind, reason)
	}
}

func TestValidateKey(t *testing.T) {
	for _, ok := range []string{"a", "0190f2c4-5b7e-7d3a-9c1e-2f4a6b8c0d1e", strings.Repeat("k", 255), "req_42:retry/1~!"} {
		if err := idempotency.ValidateKey(ok); err != nil {
			t.Errorf("ValidateKey(%q) = %v, want ok", ok, err)
		}
	}
	for _, bad := range []string{"", strings.Repeat("k", 256), "two words", "tab\there", "é", "nul\x00"} {
		wantHeaderError(t, idempotency.ValidateKey(bad), errs.KindInvalid, idempotency.ReasonInvalidKey)
	}
}

func TestFromCall_KeyAndFingerprint(t *testing.T) {
	req := wrapperspb.String("jan@example.com")
	none, err := idempotency.FromCall(context.Background(), req)
	if err != nil || none.Has() {
		t.Fatalf("no key: %+v, %v; want the zero Request", none, err)
	}
	a, err := idempotency.FromCall(withKey("k1"), req)
	if err != nil || a.Key != "k1" || len(a.Fingerprint) != 64 {
		t.Fatalf("FromCall = %+v, %v", a, err)
	}
	again, _ := idempotency.FromCall(withKey("k1"), wrapperspb.String("jan@example.com"))
	other, _ := idempotency.FromCall(withKey("k1"), wrapperspb.String("piet@example.com"))
	otherType, _ := idempotency.FromCall(withKey("k1"), wrapperspb.Bytes([]byte("jan@example.com")))
	if again.Fingerprint != a.Fingerprint {
		t.Error("the same request has another fingerprint")
	}
	if other.Fingerprint == a.Fingerprint || otherType.Fingerprint == a.Fingerprint {
		t.Error("another request (or another call) has the same fingerprint")
	}
	_, err = idempotency.FromCall(withKey("k1", "k2"), req)
	wantHeaderError(t, err, errs.KindInvalid, idempotency.ReasonInvalidKey)
	_, err = idempotency.FromCall(withKey("has space"), req)
	wantHeaderError(t, err, errs.KindInvalid, idempotency.ReasonInvalidKey)

	// The same key with the same request replays; with another it is
	// refused.
	first := &idempotency.Record{Fingerprint: a.Fingerprint, Response: []byte("answer")}
	if body, err := again.Replay(first); err != nil || string(body) != "answer" {
		t.Fatalf("Replay = %q, %v", body, err)
	}
	_, err = other.Replay(first)
	wantHeaderError(t, err, errs.KindConflict, idempotency.ReasonKeyReused)
}

func TestScopeOf_AccountOrOperatorToken(t *testing.T) {
	acct := idempotency.ScopeOf("t1", &authn.Principal{Kind: authn.KindAccount, AccountID: "a1"})
	token := idempotency.ScopeOf("t1", &authn.Principal{Kind: authn.KindOperatorToken})
	if acct != (idempotency.Scope{TenantID: "t1", Caller: "a1"}) || token != (idempotency.Scope{TenantID: "t1", Caller: "operator-token"}) {
		t.Fatalf("scopes %+v, %+v", acct, token)
	}
}
