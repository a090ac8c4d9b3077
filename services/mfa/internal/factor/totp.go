package factor

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
	qrcode "github.com/skip2/go-qrcode"
)

// The TOTP parameters (RFC 6238 with the defaults every authenticator app
// reads): 6 digits, 30-second steps, HMAC-SHA-1.
const (
	Period     = 30
	Digits     = 6
	SecretSize = 20 // bytes: 160 bits, the size of an SHA-1 key (RFC 4226)
)

// DefaultSkewSteps is the accepted clock skew, in steps either side, when
// the tenant policy names none; MaxSkewSteps bounds what a policy may ask.
const (
	DefaultSkewSteps = 1
	MaxSkewSteps     = 10
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewSecret returns a random TOTP secret in base32 (no padding), as
// authenticator apps take it.
func NewSecret() string {
	b := make([]byte, SecretSize)
	_, _ = rand.Read(b) // never fails (Go 1.24+)
	return b32.EncodeToString(b)
}

// Step is the time step of t: the RFC 6238 counter T.
func Step(t time.Time) int64 {
	s := t.Unix()
	if s < 0 {
		return 0
	}
	return s / Period
}

// Code is the code of secret at time step step.
func Code(secret string, step int64) (string, error) {
	return hotp.GenerateCodeCustom(secret, uint64(step), hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
}

// NormalizeCode strips the spaces and dashes people type in a code.
func NormalizeCode(code string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, code)
}

// LooksLikeTOTP reports whether code (normalized) has the shape of a TOTP
// code: exactly six ASCII digits.
func LooksLikeTOTP(code string) bool {
	if len(code) != Digits {
		return false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return false
		}
	}
	return true
}

// Match finds the time step at which code is secret's code, looking at
// the steps of now and skew steps either side. It returns the latest
// matching step (a code that happens to match two steps counts as the
// later one, so it is refused only when that one was used). Every
// candidate is computed and compared in constant time, so the time taken
// does not tell which step matched.
func Match(secret, code string, now time.Time, skew int) (int64, bool) {
	code = NormalizeCode(code)
	if !LooksLikeTOTP(code) {
		return 0, false
	}
	skew = max(0, min(skew, MaxSkewSteps))
	cur := Step(now)
	var found int64
	ok := false
	for d := -skew; d <= skew; d++ {
		s := cur + int64(d)
		if s < 0 {
			continue
		}
		want, err := Code(secret, s)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			found, ok = s, true
		}
	}
	return found, ok
}

// Key is what an authenticator app is given: the secret, the otpauth://
// URI (issuer and account name shown in the app) and its QR code.
type Key struct {
	Secret string
	URI    string
	QRPNG  []byte
}

// ErrNoSecret is NewKey's error for a secret that is not base32.
var ErrNoSecret = errors.New("factor: the TOTP secret is not base32")

// NewKey describes secret for an authenticator app: issuer is the tenant's
// brand (else its name), account the username.
func NewKey(secret, issuer, account string) (*Key, error) {
	uri, err := KeyURI(secret, issuer, account)
	if err != nil {
		return nil, err
	}
	png, err := QRPNG(uri)
	if err != nil {
		return nil, err
	}
	return &Key{Secret: secret, URI: uri, QRPNG: png}, nil
}

// KeyURI is the otpauth:// URI of secret (NewKey without the QR code, for
// the e-mail, whose QR code the notification service draws).
func KeyURI(secret, issuer, account string) (string, error) {
	raw, err := b32.DecodeString(strings.ToUpper(secret))
	if err != nil {
		return "", ErrNoSecret
	}
	if issuer == "" {
		issuer = "Latchkey"
	}
	if account == "" {
		account = "account"
	}
	k, err := totp.Generate(totp.GenerateOpts{
		Issuer: issuer, AccountName: account, Secret: raw, Period: Period,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		return "", err
	}
	return k.URL(), nil
}

// QRPNG is the QR code of uri as a 256×256 PNG, with the encoder the
// notification service uses for the e-mailed key (one QR encoder in the
// suite).
func QRPNG(uri string) ([]byte, error) {
	return qrcode.Encode(uri, qrcode.Medium, 256)
}
