package factor

import (
	"encoding/base32"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rfcSecret is the SHA-1 seed of RFC 6238's test vectors, in base32.
var rfcSecret = base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString([]byte("12345678901234567890"))

// TestCode_RFC6238Vectors checks the SHA-1 vectors of RFC 6238, appendix
// B: our 6-digit codes are the last six digits of its 8-digit ones.
func TestCode_RFC6238Vectors(t *testing.T) {
	for _, v := range []struct {
		unix  int64
		eight string
	}{
		{59, "94287082"},
		{1111111109, "07081804"},
		{1111111111, "14050471"},
		{1234567890, "89005924"},
		{2000000000, "69279037"},
		{20000000000, "65353130"},
	} {
		now := time.Unix(v.unix, 0)
		got, err := Code(rfcSecret, Step(now))
		if err != nil {
			t.Fatal(err)
		}
		if want := v.eight[2:]; got != want {
			t.Errorf("T=%d: code %s, want %s", v.unix, got, want)
		}
		if step, ok := Match(rfcSecret, v.eight[2:], now, 0); !ok || step != Step(now) {
			t.Errorf("T=%d: Match = %d, %v", v.unix, step, ok)
		}
	}
}

// TestCode_AgreesWithOathtool compares our codes with Debian's oathtool,
// an independent implementation, for random secrets and times.
func TestCode_AgreesWithOathtool(t *testing.T) {
	bin, err := exec.LookPath("oathtool")
	if err != nil {
		t.Skip("oathtool is not installed (apt-get install -y oathtool): the independent check is skipped")
	}
	for i := range 8 {
		secret := NewSecret()
		now := time.Unix(1_700_000_000+int64(i)*7919*31, 0)
		out, err := exec.Command(bin, "--totp", "--base32", "--digits=6", "--time-step-size=30s",
			"--now=@"+strconv.FormatInt(now.Unix(), 10), secret).Output()
		if err != nil {
			t.Fatalf("oathtool: %v", err)
		}
		want := strings.TrimSpace(string(out))
		got, err := Code(secret, Step(now))
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("secret %s at %d: ours %s, oathtool %s", secret, now.Unix(), got, want)
		}
	}
}

func TestMatch_SkewOneAcceptsNeighboursRefusesTwoAway(t *testing.T) {
	secret := NewSecret()
	now := time.Date(2026, 12, 2, 10, 0, 15, 0, time.UTC)
	for _, c := range []struct {
		steps int64
		want  bool
	}{{-2, false}, {-1, true}, {0, true}, {1, true}, {2, false}} {
		code, err := Code(secret, Step(now)+c.steps)
		if err != nil {
			t.Fatal(err)
		}
		step, ok := Match(secret, code, now, 1)
		if ok != c.want || (ok && step != Step(now)+c.steps) {
			t.Errorf("code of step %+d with skew 1: step %d ok %v, want ok %v", c.steps, step, ok, c.want)
		}
	}
	code, _ := Code(secret, Step(now)+1)
	if _, ok := Match(secret, code, now, 0); ok {
		t.Error("skew 0 accepted the next step's code")
	}
	if _, ok := Match(secret, code[:3]+" "+code[3:], now, 1); !ok {
		t.Error("a code typed with a space was refused")
	}
	for _, bad := range []string{"", "12345", "1234567", "abcdef", "١٢٣٤٥٦"} {
		if _, ok := Match(secret, bad, now, 1); ok {
			t.Errorf("Match accepted %q", bad)
		}
	}
}

func TestNewKey_URIAndQR(t *testing.T) {
	k, err := NewKey(rfcSecret, "ESHC Portaal", "jan@eshc.example")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(k.URI, "otpauth://totp/ESHC%20Portaal:jan@eshc.example?") ||
		!strings.Contains(k.URI, "secret="+rfcSecret) || !strings.Contains(k.URI, "issuer=ESHC%20Portaal") ||
		!strings.Contains(k.URI, "digits=6") || !strings.Contains(k.URI, "period=30") || !strings.Contains(k.URI, "algorithm=SHA1") {
		t.Errorf("URI %s", k.URI)
	}
	if k.Secret != rfcSecret || len(k.QRPNG) < 100 || string(k.QRPNG[1:4]) != "PNG" {
		t.Errorf("secret %s, QR %d bytes", k.Secret, len(k.QRPNG))
	}
}

func TestRecoveryCodes_ShapeLookupAndParsing(t *testing.T) {
	shown, normalized := NewRecoveryCodeSet()
	if len(shown) != RecoveryCodeCount {
		t.Fatalf("%d codes", len(shown))
	}
	lookups := map[string]bool{}
	for i, s := range shown {
		if len(s) != RecoveryCodeLen+2 || s[4] != '-' || s[10] != '-' {
			t.Errorf("code %q is not xxxx-xxxxx-xxxxx", s)
		}
		n, lookup, ok := ParseRecoveryCode(strings.ToUpper(s))
		if !ok || n != normalized[i] || lookup != n[:LookupLen] {
			t.Errorf("parse %q = %q %q %v", s, n, lookup, ok)
		}
		lookups[lookup] = true
	}
	if len(lookups) != RecoveryCodeCount {
		t.Errorf("lookup parts repeat within a set: %v", lookups)
	}
	for _, bad := range []string{"", "123456", "abcd-efghj-kmnp", "abcd-efghj-kmnpqr", "abcd-efghj-kmnp!"} {
		if _, _, ok := ParseRecoveryCode(bad); ok {
			t.Errorf("parsed %q", bad)
		}
	}
	if n, _, ok := ParseRecoveryCode("oil0 - 11111 - 22222"); !ok || n != "0110111112222"+"2" {
		t.Errorf("Crockford folding: %q %v", n, ok)
	}
}
