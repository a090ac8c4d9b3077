// Package qr reads QR codes in tests: the authenticator-key e-mail carries
// its otpauth:// URI as a PNG, and a test checks what a phone would scan.
// It is a package of its own so that only the tests that read QR codes
// link the decoder.
package qr

import (
	"bytes"
	"image/png"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	zxingqr "github.com/makiuchi-d/gozxing/qrcode"
)

// Decode returns the text of the QR code in a PNG image, e.g. an
// otpauth:// URI; it fails t when data is no PNG or holds no readable QR
// code.
func Decode(t testing.TB, data []byte) string {
	t.Helper()
	text, err := decode(data)
	if err != nil {
		t.Fatalf("qr: %v", err)
	}
	return text
}

func decode(data []byte) (string, error) {
	text, err := readZXing(data)
	if err == nil {
		return text, nil
	}
	// gozxing's detector misses about one code in 130 of those the suite
	// draws (256 px, level M), codes that ZBar, a scanner of its own, reads
	// every time; where ZBar is installed (CI installs zbar-tools) it has
	// the last word, as a second phone would.
	if zbar, lookErr := exec.LookPath("zbarimg"); lookErr == nil {
		if text, zerr := readZBar(zbar, data); zerr == nil {
			return text, nil
		}
	}
	return "", err
}

func readZXing(data []byte) (string, error) {
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return "", err
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", err
	}
	res, err := zxingqr.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		return "", err
	}
	return res.GetText(), nil
}

func readZBar(zbar string, data []byte) (string, error) {
	f, err := os.CreateTemp("", "qr-*.png")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return "", err
	}
	f.Close()
	out, err := exec.Command(zbar, "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", f.Name()).Output()
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(string(out), "\n"), nil
}
