package smtptest

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
)

// Parsed is a received message taken apart: what a mail client shows.
type Parsed struct {
	Header mail.Header
	Text   string
	HTML   string
	// Images by Content-ID (without brackets), e.g. the inline QR code.
	Images map[string][]byte
}

// Parse takes m apart; it fails t when m is no MIME message.
func Parse(t testing.TB, m Message) *Parsed {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		t.Fatalf("not a MIME message: %v", err)
	}
	p := &Parsed{Header: msg.Header, Images: map[string][]byte{}}
	walk(t, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), "", msg.Body, p)
	return p
}

// Subject is the decoded Subject header.
func (p *Parsed) Subject() string {
	s, err := new(mime.WordDecoder).DecodeHeader(p.Header.Get("Subject"))
	if err != nil {
		return p.Header.Get("Subject")
	}
	return s
}

func walk(t testing.TB, ctype, cte, cid string, body io.Reader, p *Parsed) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		t.Fatalf("content type %q: %v", ctype, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			part, err := mr.NextRawPart()
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			walk(t, part.Header.Get("Content-Type"), part.Header.Get("Content-Transfer-Encoding"),
				strings.Trim(part.Header.Get("Content-Id"), "<>"), part, p)
		}
	}
	data := decodeCTE(t, cte, body)
	switch {
	case mt == "text/plain":
		p.Text = string(data)
	case mt == "text/html":
		p.HTML = string(data)
	case strings.HasPrefix(mt, "image/"):
		p.Images[cid] = data
	}
}

func decodeCTE(t testing.TB, cte string, r io.Reader) []byte {
	t.Helper()
	switch strings.ToLower(cte) {
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, r)
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decode %s: %v", cte, err)
	}
	return b
}
