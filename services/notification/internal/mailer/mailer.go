// Package mailer hands rendered e-mail to an SMTP server (go-mail), or to
// the built-in mailbox when none is configured, and tells temporary SMTP
// failures from permanent ones.
package mailer

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	mail "github.com/wneessen/go-mail"
	gosmtp "github.com/wneessen/go-mail/smtp"

	"github.com/latchkey/latchkey/services/notification/internal/delivery"
	"github.com/latchkey/latchkey/services/notification/internal/templates"
)

// Envelope is one message ready to go.
type Envelope struct {
	// MessageID is the Message-ID without brackets; it stays the same on
	// every attempt, so a receiver can drop a copy sent twice.
	MessageID string
	From      string
	FromName  string
	To        string
	ToName    string
	Date      time.Time
	Message   *templates.Message
}

// Sender delivers envelopes.
type Sender interface {
	Send(ctx context.Context, e *Envelope) error
}

// Build turns e into a go-mail message: multipart/alternative with text and
// HTML, the inline images related to the HTML.
func Build(e *Envelope) (*mail.Msg, error) {
	m := mail.NewMsg(mail.WithNoDefaultUserAgent())
	if err := m.FromFormat(e.FromName, e.From); err != nil {
		return nil, fmt.Errorf("from: %w", err)
	}
	if err := m.AddToFormat(e.ToName, e.To); err != nil {
		return nil, fmt.Errorf("to: %w", err)
	}
	m.Subject(e.Message.Subject)
	m.SetMessageIDWithValue(e.MessageID)
	m.SetDateWithValue(e.Date)
	m.SetGenHeader(mail.HeaderContentLang, e.Message.Language)
	m.SetGenHeader("Auto-Submitted", "auto-generated")
	m.SetBodyString(mail.TypeTextPlain, e.Message.Text)
	m.AddAlternativeString(mail.TypeTextHTML, e.Message.HTML)
	for _, in := range e.Message.Inline {
		if err := m.EmbedReader(in.Name, bytes.NewReader(in.Data), mail.WithFileContentType(mail.ContentType(in.ContentType))); err != nil {
			return nil, fmt.Errorf("inline %s: %w", in.Name, err)
		}
	}
	return m, nil
}

// SMTP sends through an SMTP server, keeping a few connections open
// between messages: a new connection costs its handshake (EHLO, STARTTLS,
// AUTH) per message, which limits how many messages a second get out.
type SMTP struct {
	host    string
	opts    []mail.Option
	display string
	maxIdle int

	mu     sync.Mutex
	idle   []*conn // most recently used last
	closed bool
}

// A connection is kept open at most this long unused (servers close idle
// sessions after a few minutes; RFC 5321 asks them to wait 5) and used
// for at most this many messages (some servers limit a session's).
const (
	maxIdleTime     = 30 * time.Second
	maxConnMessages = 100
)

// conn is one open SMTP session. Each has its own go-mail client: the
// client remembers what it negotiated with the server.
type conn struct {
	c        *mail.Client
	sc       *gosmtp.Client
	sent     int
	lastUsed time.Time
}

// SMTPOptions tune NewSMTP.
type SMTPOptions struct {
	// TLSConfig replaces the default (verify the server against the
	// system roots, ServerName = host); tests pass their own roots.
	TLSConfig *tls.Config
	// Timeout bounds one connection and send (default 30s).
	Timeout time.Duration
	// MaxIdle is how many connections are kept open between messages
	// (default 4; set it to the number of messages sent at once).
	MaxIdle int
}

// NewSMTP parses an SMTP URL:
//
//	smtp://[user:pass@]host[:port]   port 587 by default; STARTTLS when the
//	                                 server offers it, required unless the
//	                                 host is loopback (then plain is allowed)
//	smtps://[user:pass@]host[:port]  implicit TLS, port 465 by default
//
// Credentials are sent only over TLS, except to a loopback host.
func NewSMTP(raw string, o SMTPOptions) (*SMTP, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("SMTP URL: %w", err)
	}
	host := u.Hostname()
	if host == "" {
		return nil, errors.New("SMTP URL: no host")
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.MaxIdle <= 0 {
		o.MaxIdle = 4
	}
	tc := o.TLSConfig
	if tc == nil {
		tc = &tls.Config{MinVersion: tls.VersionTLS12}
	} else {
		tc = tc.Clone()
	}
	if tc.ServerName == "" {
		tc.ServerName = host
	}
	opts := []mail.Option{mail.WithTimeout(o.Timeout), mail.WithTLSConfig(tc), mail.WithoutNoop()}
	port := 0
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil || port <= 0 || port > 65535 {
			return nil, fmt.Errorf("SMTP URL: bad port %q", p)
		}
	}
	switch u.Scheme {
	case "smtp":
		if port == 0 {
			port = 587
		}
		policy := mail.TLSMandatory
		if isLoopback(host) {
			policy = mail.TLSOpportunistic
		}
		opts = append(opts, mail.WithTLSPolicy(policy))
	case "smtps":
		if port == 0 {
			port = 465
		}
		opts = append(opts, mail.WithSSL())
	default:
		return nil, fmt.Errorf("SMTP URL: scheme %q: want smtp or smtps", u.Scheme)
	}
	opts = append(opts, mail.WithPort(port))
	if u.User != nil {
		pass, _ := u.User.Password()
		opts = append(opts, mail.WithUsername(u.User.Username()), mail.WithPassword(pass))
		if isLoopback(host) {
			// go-mail's auto-discovery never picks PLAIN or LOGIN without
			// TLS, even to loopback, so a local relay offering only those
			// (most do) could not be logged in to over plain SMTP. Name
			// the mechanisms instead, strongest first; -NOENC lets PLAIN
			// and LOGIN go over a plain connection, which is allowed
			// here because the host is loopback.
			opts = append(opts, mail.WithOpportunisticSMTPAuth(mail.SMTPAuthSCRAMSHA256, mail.SMTPAuthSCRAMSHA1,
				mail.SMTPAuthCramMD5, mail.SMTPAuthPlainNoEnc, mail.SMTPAuthLoginNoEnc))
		} else {
			opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover))
		}
	}
	return &SMTP{host: host, opts: opts, display: u.Scheme + "://" + net.JoinHostPort(host, strconv.Itoa(port)), maxIdle: o.MaxIdle}, nil
}

// String names the server without credentials, for logs.
func (s *SMTP) String() string { return s.display }

// Send implements Sender. It reuses an open connection when there is one
// (go-mail resets the session with RSET after each message) and dials a
// new one otherwise. A connection that failed in any way is closed, never
// reused, so a broken one takes no other message with it. The message
// counts as sent only once the server accepted its DATA.
func (s *SMTP) Send(ctx context.Context, e *Envelope) error {
	m, err := Build(e)
	if err != nil {
		return &PermanentError{Err: err}
	}
	c := s.take()
	if c != nil {
		err = c.send(m)
		if err == nil || m.IsDelivered() || !beforeMail(err) {
			return s.finish(c, m, err)
		}
		// The server had closed the kept connection (an idle timeout, a
		// restart, its limit of messages): nothing of this message went
		// out, so it goes once more on a new one.
		c.discard()
	}
	if c, err = s.dial(ctx); err != nil {
		return err
	}
	return s.finish(c, m, c.send(m))
}

// finish keeps c for the next message if it sent m cleanly, and reports
// whether m was accepted: a failure after the server took the DATA (the
// RSET that follows it) must not make m look unsent, or it would go out
// twice.
func (s *SMTP) finish(c *conn, m *mail.Msg, err error) error {
	if err != nil {
		c.discard()
		if m.IsDelivered() {
			return nil
		}
		return err
	}
	s.put(c)
	return nil
}

// beforeMail reports whether err ended the attempt before the server was
// told of the message (the connection was unusable at MAIL FROM).
func beforeMail(err error) bool {
	var se *mail.SendError
	return errors.As(err, &se) && (se.Reason == mail.ErrSMTPMailFrom || se.Reason == mail.ErrConnCheck)
}

func (s *SMTP) dial(ctx context.Context) (*conn, error) {
	c, err := mail.NewClient(s.host, s.opts...)
	if err != nil {
		return nil, &PermanentError{Err: err}
	}
	sc, err := c.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", s.display, err)
	}
	return &conn{c: c, sc: sc}, nil
}

func (c *conn) send(m *mail.Msg) error {
	c.sent++
	c.lastUsed = time.Now()
	return c.c.SendWithSMTPClient(c.sc, m)
}

// take returns the most recently used open connection still fit for
// use, or nil; it closes those that are not.
func (s *SMTP) take() *conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.idle) > 0 {
		c := s.idle[len(s.idle)-1]
		s.idle = s.idle[:len(s.idle)-1]
		if time.Since(c.lastUsed) < maxIdleTime {
			return c
		}
		go c.quit()
	}
	return nil
}

// put keeps c for another message, or ends its session when enough are
// kept or it has sent its share.
func (s *SMTP) put(c *conn) {
	s.mu.Lock()
	keep := !s.closed && len(s.idle) < s.maxIdle && c.sent < maxConnMessages
	if keep {
		s.idle = append(s.idle, c)
	}
	s.mu.Unlock()
	if !keep {
		c.quit()
	}
}

// Close ends the kept sessions; Send still works after it, without
// keeping connections.
func (s *SMTP) Close() {
	s.mu.Lock()
	idle := s.idle
	s.idle, s.closed = nil, true
	s.mu.Unlock()
	for _, c := range idle {
		c.quit()
	}
}

// quit ends the session politely, not waiting long for a server that no
// longer answers.
func (c *conn) quit() {
	_ = c.sc.UpdateDeadline(time.Second)
	if err := c.c.CloseWithSMTPClient(c.sc); err != nil {
		c.discard()
	}
}

// discard drops the connection without a word: after a failure the
// session's state is unknown.
func (c *conn) discard() { _ = c.sc.Close() }

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// PermanentError is a failure no retry can fix (a message that cannot be
// built, a bad address).
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Classify tells what an error from Send means: a 5xx reply or a
// PermanentError is Permanent; a 4xx reply, a refused or broken
// connection, a timeout or anything unknown is Temporary (retried until the
// attempts run out, so a misconfiguration shows up as FAILED in the end
// rather than mail lost at once).
func Classify(err error) delivery.Outcome {
	if err == nil {
		return delivery.Delivered
	}
	var perm *PermanentError
	if errors.As(err, &perm) {
		return delivery.Permanent
	}
	if code := SMTPCode(err); code >= 500 && code < 600 {
		return delivery.Permanent
	}
	return delivery.Temporary
}

// SMTPCode finds the SMTP reply code in err (0 = none).
func SMTPCode(err error) int {
	var se *mail.SendError
	if errors.As(err, &se) {
		if c := se.ErrorCode(); c != 0 {
			return c
		}
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code
	}
	// go-mail keeps some replies only as text ("550 5.1.1 ...").
	msg := err.Error()
	for _, part := range strings.Split(msg, ": ") {
		if len(part) >= 3 {
			if c, convErr := strconv.Atoi(part[:3]); convErr == nil && c >= 400 && c < 600 && (len(part) == 3 || part[3] == ' ' || part[3] == '-') {
				return c
			}
		}
	}
	return 0
}
