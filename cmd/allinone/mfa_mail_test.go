package allinone_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/cmd/allinone"
	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/testkit"
	"github.com/latchkey/latchkey/libs/testkit/qr"
	"github.com/latchkey/latchkey/libs/testkit/smtptest"
	mfainternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/mfa/v1"
	notification "github.com/latchkey/latchkey/services/notification/server"
)

// pngParts returns the PNG images of a MIME message.
func pngParts(t *testing.T, data []byte) [][]byte {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	var walk func(ctype, cte string, body io.Reader)
	walk = func(ctype, cte string, body io.Reader) {
		mt, params, err := mime.ParseMediaType(ctype)
		if err != nil {
			return
		}
		if strings.HasPrefix(mt, "multipart/") {
			mr := multipart.NewReader(body, params["boundary"])
			for {
				p, err := mr.NextRawPart()
				if err != nil {
					return
				}
				walk(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p)
			}
		}
		if mt == "image/png" {
			if strings.EqualFold(cte, "base64") {
				body = base64.NewDecoder(base64.StdEncoding, body)
			}
			b, _ := io.ReadAll(body)
			out = append(out, b)
		}
	}
	walk(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	return out
}

// J4 step 1 over real SMTP: the key request's e-mail carries a QR code
// that a phone would scan into a working authenticator; its first code (at
// a log-in or a reset: here as the credential service asks) confirms the
// pending factor.
func TestKeyEmail_QRCodeScansToAWorkingKey_FirstCodeConfirmsTheFactor(t *testing.T) {
	smtp := smtptest.Start(t, smtptest.Options{})
	clk := clock.NewFake(time.Now())
	inst := startWithConfig(t, false, allinone.Config{
		Edge: loopbackEdge, DataDir: t.TempDir(), NATSURL: testkit.NATS(t).URL, Clock: clk,
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		Notification: notification.Tuning{SMTPURL: "smtp://" + smtp.Addr},
	})
	op := client{t: t, base: inst.HTTPURL, token: inst.OperatorToken}
	code, tenantID, admin := adminTenant(t, op, map[string]any{"brandName": "Track Portal"})
	id, _ := userWithPassword(t, admin, code, "kim", "Quiet-Harbour-2026!")
	anon := client{t: t, base: inst.HTTPURL}
	if st, body := anon.do("POST", "/v1/mfa/key-requests", map[string]any{"tenant": code, "login": "kim@" + code + ".example"}); st != 202 {
		t.Fatalf("key request: %d %v", st, body)
	}

	var png []byte
	testkit.Eventually(t, 20*time.Second, func() error {
		for _, m := range smtp.Messages() {
			if len(m.To) == 1 && m.To[0] == "kim@"+code+".example" {
				if imgs := pngParts(t, m.Data); len(imgs) == 1 {
					png = imgs[0]
					return nil
				}
			}
		}
		return errNoKeyMail
	})
	uri := qr.Decode(t, png)
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "otpauth" || u.Path != "/Track Portal:kim" || u.Query().Get("issuer") != "Track Portal" {
		t.Fatalf("the QR code reads %q", uri)
	}
	secret := u.Query().Get("secret")

	mfa := mfainternalv1.NewMfaInternalServiceClient(peerConn(t, inst, "credential", "mfa"))
	ctx := context.Background()
	st, err := mfa.GetFactorStatus(ctx, &mfainternalv1.GetFactorStatusRequest{TenantId: tenantID, AccountId: id})
	if err != nil || st.GetTotpEnabled() || !st.GetEmailedKeyPending() {
		t.Fatalf("status before the first code: %v, %v", st, err)
	}
	resp, err := mfa.VerifyCode(ctx, &mfainternalv1.VerifyCodeRequest{TenantId: tenantID, AccountId: id, Code: totpCode(t, secret, clk)})
	if err != nil || !resp.GetOk() {
		t.Fatalf("the first code: %v, %v", resp, err)
	}
	st, err = mfa.GetFactorStatus(ctx, &mfainternalv1.GetFactorStatusRequest{TenantId: tenantID, AccountId: id})
	if err != nil || !st.GetTotpEnabled() || st.GetEmailedKeyPending() {
		t.Fatalf("status after the first code: %v, %v", st, err)
	}
	// The MfaEnabled notice follows (notification consumes the event).
	testkit.Eventually(t, 20*time.Second, func() error {
		for _, m := range smtp.Messages() {
			msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
			if err != nil {
				continue
			}
			subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
			if len(m.To) == 1 && m.To[0] == "kim@"+code+".example" && strings.Contains(subject, "Two-step verification is on") {
				return nil
			}
		}
		return errNoNotice
	})
}

var (
	errNoKeyMail = errorString("the key e-mail has not arrived")
	errNoNotice  = errorString("the MFA-enabled notice has not arrived")
)

type errorString string

func (e errorString) Error() string { return string(e) }
