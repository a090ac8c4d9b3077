package mailer_test

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/testkit/smtptest"
	"github.com/latchkey/latchkey/services/notification/internal/delivery"
	"github.com/latchkey/latchkey/services/notification/internal/mailer"
)

// authCase is one way to reach a server that requires AUTH: plain on
// loopback (where the mailer allows credentials without TLS), after
// STARTTLS, or over implicit TLS (smtps), offering PLAIN and LOGIN or only
// LOGIN.
type authCase struct {
	name   string
	scheme string
	tls    bool
	mechs  []string
}

var authCases = []authCase{
	{"plain_loopback", "smtp", false, nil},
	{"plain_loopback_login_only", "smtp", false, []string{"LOGIN"}},
	{"starttls", "smtp", true, nil},
	{"starttls_login_only", "smtp", true, []string{"LOGIN"}},
	{"smtps", "smtps", true, nil},
}

// start runs a server for c that knows users, and returns the TLS config
// the mailer must use to trust it.
func (c authCase) start(t *testing.T, users map[string]string) (*smtptest.Server, *tls.Config) {
	t.Helper()
	o := smtptest.Options{Users: users, AuthMechanisms: c.mechs}
	var cliTLS *tls.Config
	if c.tls {
		o.TLS, cliTLS = selfSigned(t)
		o.Implicit = c.scheme == "smtps"
	}
	return smtptest.Start(t, o), cliTLS
}

// send sends one envelope to srv (scheme c.scheme) with userinfo ("user:pass", URL-encoded
// as it would be in the configuration) and returns Send's error.
func (c authCase) send(t *testing.T, srv *smtptest.Server, cliTLS *tls.Config, userinfo string) error {
	t.Helper()
	s, err := mailer.NewSMTP(c.scheme+"://"+userinfo+"@"+srv.Addr, mailer.SMTPOptions{TLSConfig: cliTLS, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(s.String(), "@") {
		t.Errorf("String() = %q shows the credentials", s.String())
	}
	return s.Send(context.Background(), envelope())
}

// checkOneLogin asserts the server saw exactly one AUTH, with these
// credentials and outcome, over TLS when c uses it.
func checkOneLogin(t *testing.T, c authCase, srv *smtptest.Server, user, pass string, ok bool) {
	t.Helper()
	l := srv.Logins()
	if len(l) != 1 {
		t.Fatalf("logins %+v; want exactly one", l)
	}
	if l[0].Username != user || l[0].Password != pass || l[0].OK != ok || l[0].TLS != c.tls {
		t.Errorf("login %+v; want username %q password %q OK %v TLS %v", l[0], user, pass, ok, c.tls)
	}
	want := "PLAIN" // go-mail prefers it to LOGIN
	if c.mechs != nil {
		want = c.mechs[0]
	}
	if l[0].Mechanism != want {
		t.Errorf("mechanism %s, want %s", l[0].Mechanism, want)
	}
}

func TestSMTP_AuthWithURLCredentials(t *testing.T) {
	for _, c := range authCases {
		t.Run(c.name, func(t *testing.T) {
			srv, cliTLS := c.start(t, map[string]string{"user": "secret"})
			if err := c.send(t, srv, cliTLS, "user:secret"); err != nil {
				t.Fatalf("Send: %v (logins %+v)", err, srv.Logins())
			}
			checkOneLogin(t, c, srv, "user", "secret", true)
			msgs := srv.Messages()
			if len(msgs) != 1 || msgs[0].User != "user" || msgs[0].TLS != c.tls {
				t.Fatalf("messages %+v; want one from authenticated %q, TLS %v", msgs, "user", c.tls)
			}
		})
	}
}

func TestSMTP_WrongPasswordIsPermanent535(t *testing.T) {
	for _, c := range authCases {
		t.Run(c.name, func(t *testing.T) {
			srv, cliTLS := c.start(t, map[string]string{"user": "secret"})
			err := c.send(t, srv, cliTLS, "user:wrong")
			if err == nil {
				t.Fatal("Send with a wrong password succeeded")
			}
			if got := mailer.Classify(err); got != delivery.Permanent {
				t.Errorf("Classify(%v) = %v, want Permanent", err, got)
			}
			if code := mailer.SMTPCode(err); code != 535 {
				t.Errorf("SMTPCode(%v) = %d, want 535", err, code)
			}
			checkOneLogin(t, c, srv, "user", "wrong", false)
			if m := srv.Messages(); len(m) != 0 {
				t.Errorf("server accepted %d messages", len(m))
			}
		})
	}
}

func TestSMTP_PercentEncodedCredentialsAreDecoded(t *testing.T) {
	const user, pass = "mailer@example.com", "p@ss:/%?#"
	for _, c := range authCases {
		t.Run(c.name, func(t *testing.T) {
			srv, cliTLS := c.start(t, map[string]string{user: pass})
			if err := c.send(t, srv, cliTLS, "mailer%40example.com:p%40ss%3A%2F%25%3F%23"); err != nil {
				t.Fatalf("Send: %v (logins %+v)", err, srv.Logins())
			}
			checkOneLogin(t, c, srv, user, pass, true)
			if m := srv.Messages(); len(m) != 1 || m[0].User != user {
				t.Fatalf("messages %+v; want one from %q", m, user)
			}
		})
	}
}

func TestSMTP_NoCredentialsForServerThatRequiresAuthIsPermanent(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{Users: map[string]string{"user": "secret"}})
	s, err := mailer.NewSMTP("smtp://"+srv.Addr, mailer.SMTPOptions{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(context.Background(), envelope())
	if err == nil || mailer.Classify(err) != delivery.Permanent || mailer.SMTPCode(err) != 530 {
		t.Fatalf("Send without AUTH: %v, code %d, classified %v; want 530, Permanent", err, mailer.SMTPCode(err), mailer.Classify(err))
	}
	if l := srv.Logins(); len(l) != 0 {
		t.Errorf("logins %+v without credentials", l)
	}
}
