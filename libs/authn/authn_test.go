package authn

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/grpc/metadata"

	"github.com/latchkey/latchkey/libs/errs"
)

func TestOperatorTokens_MatchOnlyKnownTokens(t *testing.T) {
	a, b := NewToken(), NewToken()
	o := NewOperatorTokens(a, "", b)
	if !o.Match(a) || !o.Match(b) {
		t.Fatal("a configured token did not match")
	}
	for _, bad := range []string{"", a + "x", a[:len(a)-1], "lko_"} {
		if o.Match(bad) {
			t.Fatalf("token %q matched", bad)
		}
	}
	if (*OperatorTokens)(nil).Match(a) {
		t.Fatal("nil token set matched")
	}
}

func TestAuthenticate(t *testing.T) {
	tok := NewToken()
	a := &Authenticator{Operators: NewOperatorTokens(tok)}
	ctx := func(auth string) context.Context {
		if auth == "" {
			return context.Background()
		}
		return metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", auth))
	}
	for _, tc := range []struct {
		auth     string
		wantKind Kind
		wantErr  bool
	}{
		{"", 0, false},
		{"Bearer " + tok, KindOperatorToken, false},
		{"bearer " + tok, KindOperatorToken, false},
		{"Bearer wrong", 0, true},
		{"Basic " + tok, 0, true},
		{tok, 0, true},
	} {
		p, err := a.Authenticate(ctx(tc.auth))
		if tc.wantErr {
			if !errs.Is(err, errs.KindUnauthenticated) {
				t.Errorf("%q: err = %v, want Unauthenticated", tc.auth, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.auth, err)
			continue
		}
		if (p == nil && tc.wantKind != 0) || (p != nil && p.Kind != tc.wantKind) {
			t.Errorf("%q: principal %+v, want kind %v", tc.auth, p, tc.wantKind)
		}
	}
}

func TestLoadOrCreateOperatorToken_CreatesOnceWithMode0600(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	tok, path, created, err := LoadOrCreateOperatorToken(dir)
	if err != nil || !created || tok == "" {
		t.Fatalf("first: %q %v %v", tok, created, err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode = %v (%v), want 0600", st.Mode().Perm(), err)
	}
	again, _, created, err := LoadOrCreateOperatorToken(dir)
	if err != nil || created || again != tok {
		t.Fatalf("second start: %q created=%v %v; want the same token", again, created, err)
	}
}
