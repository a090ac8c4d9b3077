// Package smtptest is an SMTP server on loopback for tests (go-smtp): it
// keeps every message it accepts and can be told to refuse or stall, so
// tests see what really went over the wire.
package smtptest

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	smtp "github.com/emersion/go-smtp"
)

// Message is one accepted message.
type Message struct {
	From string
	To   []string
	Data []byte
	// TLS tells whether the session was encrypted.
	TLS bool
	// User is who authenticated the session ("" without AUTH).
	User string
}

// Login is one AUTH attempt as the server saw it.
type Login struct {
	Mechanism string
	Username  string
	Password  string
	// OK tells whether the credentials matched Options.Users.
	OK bool
	// TLS tells whether the session was encrypted at the time.
	TLS bool
}

// Server is a running test SMTP server.
type Server struct {
	// Addr is host:port on loopback.
	Addr string

	srv *smtp.Server
	mu  sync.Mutex
	msg []Message
	// reject, when set, is asked before each DATA is accepted (n counts
	// DATA commands from 1); a non-nil error is the reply.
	reject  func(n int) error
	keep    map[int]bool
	n       int
	arrived chan struct{}
	logins  []Login
}

// Options tune Start.
type Options struct {
	// TLS, when set, offers STARTTLS (or, with Implicit, speaks TLS from
	// the first byte, as smtps).
	TLS      *tls.Config
	Implicit bool
	// Users, when set, makes the server require AUTH (user name to
	// password): it offers AuthMechanisms (PLAIN and LOGIN by default),
	// on plain connections too (it is loopback), refuses MAIL before a
	// successful AUTH with 530 and wrong credentials with 535.
	Users          map[string]string
	AuthMechanisms []string
}

// Start runs a server for t and stops it when t ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	s := &Server{arrived: make(chan struct{}, 1<<16)}
	be := smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		x := &session{s: s, conn: c}
		if o.Users != nil {
			mechs := o.AuthMechanisms
			if mechs == nil {
				mechs = []string{sasl.Plain, sasl.Login}
			}
			return &authSession{session: x, users: o.Users, mechs: mechs}, nil
		}
		return x, nil
	})
	srv := smtp.NewServer(be)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout, srv.WriteTimeout = 30*time.Second, 30*time.Second
	srv.MaxMessageBytes = 10 << 20
	srv.TLSConfig = o.TLS
	var (
		lis net.Listener
		err error
	)
	if o.Implicit && o.TLS != nil {
		lis, err = tls.Listen("tcp", "127.0.0.1:0", o.TLS)
	} else {
		lis, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatalf("smtptest: %v", err)
	}
	s.Addr, s.srv = lis.Addr().String(), srv
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

// Reject sets the rule asked before each DATA (nil: accept everything).
func (s *Server) Reject(fn func(n int) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reject = fn
}

// KeepRejected makes the server keep DATA number n even if the reject rule
// refuses it, and keep it before the rule runs: a server that took the
// message but whose reply never reached the client.
func (s *Server) KeepRejected(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keep == nil {
		s.keep = map[int]bool{}
	}
	s.keep[n] = true
}

// Temporary is a 4xx reply; Permanent a 5xx one.
var (
	Temporary = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	Permanent = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"}
)

// Messages returns what was accepted so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msg...)
}

// Wait waits until n messages were accepted or ctx ends, and returns what
// there is.
func (s *Server) Wait(ctx context.Context, n int) []Message {
	for {
		if m := s.Messages(); len(m) >= n {
			return m
		}
		select {
		case <-ctx.Done():
			return s.Messages()
		case <-s.arrived:
		}
	}
}

// Logins returns the AUTH attempts so far.
func (s *Server) Logins() []Login {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Login(nil), s.logins...)
}

// Close stops the server (to simulate an outage).
func (s *Server) Close() { _ = s.srv.Close() }

type session struct {
	s    *Server
	conn *smtp.Conn
	from string
	to   []string
	user string
}

func (x *session) Reset()        { x.from, x.to = "", nil }
func (x *session) Logout() error { return nil }
func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	x.from = from
	return nil
}
func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.to = append(x.to, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	var b bytes.Buffer
	if _, err := io.Copy(&b, r); err != nil {
		return err
	}
	x.s.mu.Lock()
	x.s.n++
	n, reject, keep := x.s.n, x.s.reject, x.s.keep[x.s.n]
	x.s.mu.Unlock()
	if keep {
		x.store(b.Bytes())
	}
	if reject != nil {
		if err := reject(n); err != nil {
			var se *smtp.SMTPError
			if errors.As(err, &se) {
				return se
			}
			return err
		}
	}
	if !keep {
		x.store(b.Bytes())
	}
	return nil
}

func (x *session) store(data []byte) {
	x.s.mu.Lock()
	x.s.msg = append(x.s.msg, Message{From: x.from, To: x.to, Data: data, TLS: isTLS(x.conn), User: x.user})
	x.s.mu.Unlock()
	x.s.arrived <- struct{}{}
}

func isTLS(c *smtp.Conn) bool {
	_, ok := c.TLSConnectionState()
	return ok
}

// authSession is a session that requires AUTH before MAIL.
type authSession struct {
	*session
	users map[string]string
	mechs []string
}

// ErrAuthRequired is the reply to MAIL before AUTH (RFC 4954).
var ErrAuthRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}

func (x *authSession) AuthMechanisms() []string { return x.mechs }

func (x *authSession) Auth(mech string) (sasl.Server, error) {
	check := func(user, pass string) error {
		want, known := x.users[user]
		ok := known && want == pass
		x.s.mu.Lock()
		x.s.logins = append(x.s.logins, Login{Mechanism: mech, Username: user, Password: pass, OK: ok, TLS: isTLS(x.conn)})
		x.s.mu.Unlock()
		if !ok {
			return smtp.ErrAuthFailed
		}
		x.user = user
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, user, pass string) error {
			if identity != "" && identity != user {
				return smtp.ErrAuthFailed
			}
			return check(user, pass)
		}), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (x *authSession) Mail(from string, o *smtp.MailOptions) error {
	if x.user == "" {
		return ErrAuthRequired
	}
	return x.session.Mail(from, o)
}

// loginServer is the server side of the (obsolete but common) LOGIN
// mechanism, which go-sasl does not provide: it asks for the user name,
// then the password.
type loginServer struct {
	check func(user, pass string) error
	step  int
	user  string
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step = 1
		if resp == nil {
			return []byte("Username:"), false, nil
		}
		l.user = string(resp)
		l.step = 2
		return []byte("Password:"), false, nil
	case 1:
		l.user = string(resp)
		l.step = 2
		return []byte("Password:"), false, nil
	case 2:
		l.step = 3
		return nil, true, l.check(l.user, string(resp))
	}
	return nil, true, sasl.ErrUnexpectedClientResponse
}
