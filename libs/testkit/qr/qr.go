// Package qr reads QR codes in tests: the authenticator-key e-mail carries
// its otpauth:// URI as a PNG, and a test checks what a phone would scan.
// It is a package of its own so that only the tests that read QR codes
// link the decoder.
package qr

import (
	"bytes"
	"image/png"
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
