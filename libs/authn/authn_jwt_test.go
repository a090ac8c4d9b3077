package authn

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/errs"
)

func TestAuthenticate_AccessTokens(t *testing.T) {
	op := NewToken()
	k := newTestKey(t, "k1")
	clk := clock.NewFake(testNow)
	a := &Authenticator{
		Operators: NewOperatorTokens(op),
		Tokens:    newTestVerifier(t, StaticKeys{k.kid: k.public()}, clk, nil),
	}
	good := k.sign(t, validClaims(testNow), nil)
	expiredClaims := validClaims(testNow.Add(-time.Hour))
	expired := k.sign(t, expiredClaims, nil)
	ctx := func(auth string) context.Context {
		md := metadata.Pairs("authorization", auth, TenantHeader, "acme")
		return metadata.NewIncomingContext(context.Background(), md)
	}
	for _, tc := range []struct {
		name     string
		auth     string
		wantKind Kind
		reason   string
	}{
		{"access token", "Bearer " + good, KindAccount, ""},
		{"operator token still works", "Bearer " + op, KindOperatorToken, ""},
		{"expired access token says so", "Bearer " + expired, 0, ReasonAccessTokenExpired},
		{"tampered access token", "Bearer " + tamper(good), 0, ReasonAccessTokenInvalid},
		{"neither", "Bearer lko_nope", 0, "CREDENTIALS_INVALID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := a.Authenticate(ctx(tc.auth))
			if tc.reason != "" {
				if !errs.Is(err, errs.KindUnauthenticated) || reasonOf(err) != tc.reason {
					t.Fatalf("err = %v (reason %q), want %s", err, reasonOf(err), tc.reason)
				}
				return
			}
			if err != nil || p == nil || p.Kind != tc.wantKind {
				t.Fatalf("p = %+v, err = %v; want kind %v", p, err, tc.wantKind)
			}
			if p.Kind == KindAccount && (p.AccountID != "acct-1" || p.SessionID != "sess-1" || p.TenantCode != "acme") {
				t.Fatalf("account principal %+v", p)
			}
		})
	}
}

func TestAuthenticate_JWTWithoutVerifierIsInvalid(t *testing.T) {
	k := newTestKey(t, "k1")
	a := &Authenticator{Operators: NewOperatorTokens(NewToken())}
	md := metadata.Pairs("authorization", "Bearer "+k.sign(t, validClaims(time.Now()), nil))
	_, err := a.Authenticate(metadata.NewIncomingContext(context.Background(), md))
	if reasonOf(err) != "CREDENTIALS_INVALID" {
		t.Fatalf("err = %v, want CREDENTIALS_INVALID", err)
	}
}

// tamper changes one character well inside a token's signature. (Changing
// the last characters is not enough: the final base64 character carries
// padding bits a decoder may ignore, so the test would pass by chance.)
func tamper(tok string) string {
	i := len(tok) - 10
	c := byte('A')
	if tok[i] == 'A' {
		c = 'B'
	}
	return tok[:i] + string(c) + tok[i+1:]
}
