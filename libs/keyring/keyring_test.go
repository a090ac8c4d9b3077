package keyring

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	a, b := Generate(), Generate()
	raw, _ := base64.StdEncoding.DecodeString(a)
	urlA := base64.RawURLEncoding.EncodeToString(raw)
	tests := []struct {
		name    string
		in      string
		primary string
		wantErr string
	}{
		{name: "bare key gets its derived id", in: a, primary: ID(raw)},
		{name: "url alphabet without padding is the same key", in: urlA, primary: ID(raw)},
		{name: "named keys, first seals", in: "new:" + b + ", old:" + a, primary: "new"},
		{name: "named and bare mixed", in: "2:" + b + "," + a, primary: "2"},
		{name: "empty", in: "", wantErr: "key 1 is empty"},
		{name: "trailing comma", in: a + ",", wantErr: "key 2 is empty"},
		{name: "short key", in: "x:" + base64.StdEncoding.EncodeToString(make([]byte, 16)), wantErr: "16 bytes; want 32"},
		{name: "not base64", in: "x:!!!!", wantErr: "not base64"},
		{name: "bad id", in: "a b:" + a, wantErr: "the id must be"},
		{name: "same id twice", in: "x:" + a + ",x:" + b, wantErr: `id "x" appears twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Parse(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse error = %v; want one containing %q", err, tt.wantErr)
				}
				// The value is a secret: no error may quote it.
				if strings.Contains(err.Error(), a) || strings.Contains(err.Error(), b) {
					t.Fatalf("error quotes the key: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Primary() != tt.primary {
				t.Fatalf("Primary = %q; want %q", r.Primary(), tt.primary)
			}
		})
	}
}

func TestSealOpen(t *testing.T) {
	oldKey, newKey := Generate(), Generate()
	old, err := Parse("old:" + oldKey)
	if err != nil {
		t.Fatal(err)
	}
	both, err := Parse("new:" + newKey + ",old:" + oldKey)
	if err != nil {
		t.Fatal(err)
	}
	other, err := Parse("old:" + Generate())
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("a private key")
	id, sealed := old.Seal(secret, []byte("row-1"))
	if id != "old" || bytes.Contains(sealed, secret) {
		t.Fatalf("Seal = %q, %x", id, sealed)
	}
	if _, again := old.Seal(secret, []byte("row-1")); bytes.Equal(again, sealed) {
		t.Fatal("two seals of one value are equal: the nonce is not fresh")
	}

	// A ring that lists the old key after the new one still opens it.
	got, err := both.Open(id, sealed, []byte("row-1"))
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open with the rotated ring = %q, %v", got, err)
	}
	if id, _ := both.Seal(secret, nil); id != "new" {
		t.Fatalf("the rotated ring seals with %q; want new", id)
	}

	tests := []struct {
		name   string
		ring   *Ring
		id     string
		sealed []byte
		ad     string
		want   error
	}{
		{name: "other associated data (a row swapped)", ring: old, id: id, sealed: sealed, ad: "row-2", want: ErrOpen},
		{name: "same id, other key (a wrong KEK)", ring: other, id: id, sealed: sealed, ad: "row-1", want: ErrOpen},
		{name: "key not in the ring", ring: both, id: "gone", sealed: sealed, ad: "row-1", want: ErrUnknownKey},
		{name: "flipped bit", ring: old, id: id, sealed: flip(sealed), ad: "row-1", want: ErrOpen},
		{name: "truncated", ring: old, id: id, sealed: sealed[:10], ad: "row-1", want: ErrOpen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.ring.Open(tt.id, tt.sealed, []byte(tt.ad)); !errors.Is(err, tt.want) {
				t.Fatalf("Open error = %v; want %v", err, tt.want)
			}
		})
	}
}

func flip(b []byte) []byte {
	c := bytes.Clone(b)
	c[len(c)-1] ^= 1
	return c
}
