package mailer_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/testkit/smtptest"
	"github.com/latchkey/latchkey/services/notification/internal/delivery"
	"github.com/latchkey/latchkey/services/notification/internal/mailer"
	"github.com/latchkey/latchkey/services/notification/internal/templates"
)

func envelope() *mailer.Envelope {
	return &mailer.Envelope{MessageID: "m1@example.com", From: "from@example.com", To: "to@example.com", Date: time.Now(),
		Message: &templates.Message{Language: "en", Subject: "Hi", Text: "text", HTML: "<p>html</p>"}}
}

// selfSigned returns a server certificate for 127.0.0.1 and a client
// config that trusts it.
func selfSigned(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		&tls.Config{RootCAs: pool}
}

func TestSMTP_STARTTLSWhenOffered_PlainOnLoopbackWhenNot_ImplicitTLSForSMTPS(t *testing.T) {
	srvTLS, cliTLS := selfSigned(t)
	for _, c := range []struct {
		name    string
		opts    smtptest.Options
		scheme  string
		wantTLS bool
	}{
		{"starttls", smtptest.Options{TLS: srvTLS}, "smtp", true},
		{"plain_loopback", smtptest.Options{}, "smtp", false},
		{"smtps", smtptest.Options{TLS: srvTLS, Implicit: true}, "smtps", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := smtptest.Start(t, c.opts)
			s, err := mailer.NewSMTP(c.scheme+"://"+srv.Addr, mailer.SMTPOptions{TLSConfig: cliTLS, Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Send(context.Background(), envelope()); err != nil {
				t.Fatal(err)
			}
			msgs := srv.Messages()
			if len(msgs) != 1 || msgs[0].TLS != c.wantTLS {
				t.Fatalf("messages %d, TLS %v; want 1, TLS %v", len(msgs), len(msgs) == 1 && msgs[0].TLS, c.wantTLS)
			}
		})
	}
}

func TestClassify_4xxAndRefusedAreTemporary_5xxPermanent(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	s, err := mailer.NewSMTP("smtp://"+srv.Addr, mailer.SMTPOptions{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	srv.Reject(func(int) error { return smtptest.Temporary })
	if err := s.Send(context.Background(), envelope()); mailer.Classify(err) != delivery.Temporary {
		t.Errorf("451: %v classified %v", err, mailer.Classify(err))
	}
	srv.Reject(func(int) error { return smtptest.Permanent })
	if err := s.Send(context.Background(), envelope()); mailer.Classify(err) != delivery.Permanent || mailer.SMTPCode(err) != 550 {
		t.Errorf("550: %v classified %v", err, mailer.Classify(err))
	}
	srv.Close()
	err = s.Send(context.Background(), envelope())
	if err == nil || mailer.Classify(err) != delivery.Temporary {
		t.Errorf("connection refused: %v classified %v", err, mailer.Classify(err))
	}
}

func TestNewSMTP_URLs(t *testing.T) {
	for raw, want := range map[string]string{
		"smtp://mail.example.com":             "smtp://mail.example.com:587",
		"smtp://u:p%40ss@mail.example.com:25": "smtp://mail.example.com:25",
		"smtps://mail.example.com":            "smtps://mail.example.com:465",
		"http://mail.example.com":             "error",
		"smtp://":                             "error",
		"smtp://mail.example.com:99999":       "error",
	} {
		s, err := mailer.NewSMTP(raw, mailer.SMTPOptions{})
		got := "error"
		if err == nil {
			got = s.String()
		}
		if got != want {
			t.Errorf("NewSMTP(%q) = %s, want %s", raw, got, want)
		}
		if err == nil && strings.Contains(got, "p%40ss") {
			t.Errorf("String shows the password")
		}
	}
}
