package qr

import (
	"bytes"
	"image/png"
	"testing"

	"github.com/makiuchi-d/gozxing"
	zxingqr "github.com/makiuchi-d/gozxing/qrcode"
)

func TestDecode_ReadsWhatWasEncoded_RefusesWhatIsNoQRCode(t *testing.T) {
	const uri = "otpauth://totp/ESHC:jan%40eshc.example?secret=JBSWY3DPEHPK3PXP&issuer=ESHC"
	matrix, err := zxingqr.NewQRCodeWriter().Encode(uri, gozxing.BarcodeFormat_QR_CODE, 256, 256, nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, matrix); err != nil {
		t.Fatal(err)
	}
	if got := Decode(t, buf.Bytes()); got != uri {
		t.Fatalf("Decode = %q, want %q", got, uri)
	}
	if _, err := decode([]byte("not a png")); err == nil {
		t.Error("bytes that are no PNG decoded")
	}
	empty, err := gozxing.NewSquareBitMatrix(64)
	if err != nil {
		t.Fatal(err)
	}
	var blank bytes.Buffer
	if err := png.Encode(&blank, empty); err != nil {
		t.Fatal(err)
	}
	if text, err := decode(blank.Bytes()); err == nil {
		t.Errorf("a blank image decoded to %q", text)
	}
}
