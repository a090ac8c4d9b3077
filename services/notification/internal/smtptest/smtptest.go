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

	smtp "github.com/emersion/go-smtp"
)

// Message is one accepted message.
type Message struct {
	From string
	To   []string
	Data []byte
	// TLS tells whether the session was encrypted.
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
}

// Options tune Start.
type Options struct {
	// TLS, when set, offers STARTTLS (or, with Implicit, speaks TLS from
	// the first byte, as smtps).
	TLS      *tls.Config
	Implicit bool
}

// Start runs a server for t and stops it when t ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	s := &Server{arrived: make(chan struct{}, 1<<16)}
	be := smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{s: s, conn: c}, nil
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

// Close stops the server (to simulate an outage).
func (s *Server) Close() { _ = s.srv.Close() }

type session struct {
	s    *Server
	conn *smtp.Conn
	from string
	to   []string
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
	x.s.msg = append(x.s.msg, Message{From: x.from, To: x.to, Data: data, TLS: isTLS(x.conn)})
	x.s.mu.Unlock()
	x.s.arrived <- struct{}{}
}

func isTLS(c *smtp.Conn) bool {
	_, ok := c.TLSConnectionState()
	return ok
}
