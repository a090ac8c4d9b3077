package mailer_test

import (
	"bufio"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/testkit/smtptest"
	"github.com/latchkey/latchkey/services/notification/internal/mailer"
)

// Messages go out over one kept connection: one log-in for three.
func TestSMTP_KeepsTheConnectionBetweenMessages(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{Users: map[string]string{"app": "secret"}})
	s, err := mailer.NewSMTP("smtp://app:secret@"+srv.Addr, mailer.SMTPOptions{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for range 3 {
		if err := s.Send(context.Background(), envelope()); err != nil {
			t.Fatal(err)
		}
	}
	if m, l := len(srv.Messages()), len(srv.Logins()); m != 3 || l != 1 {
		t.Fatalf("%d messages over %d log-ins; want 3 over 1", m, l)
	}
}

// fakeSMTP is a minimal SMTP server whose sessions end as after says:
// after the reply to the first RSET ("rset"), or right after accepting
// the first DATA, before RSET is answered ("data").
type fakeSMTP struct {
	addr     string
	mu       sync.Mutex
	conns    int
	accepted int
}

func startFake(t *testing.T, after string) *fakeSMTP {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lis.Close() })
	f := &fakeSMTP{addr: lis.Addr().String()}
	go func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			f.mu.Lock()
			f.conns++
			f.mu.Unlock()
			go f.serve(c, after)
		}
	}()
	return f
}

func (f *fakeSMTP) serve(c net.Conn, after string) {
	defer c.Close()
	r := bufio.NewReader(c)
	say := func(s string) { _, _ = c.Write([]byte(s + "\r\n")) }
	say("220 fake")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		switch cmd := strings.ToUpper(strings.Fields(line + " x")[0]); cmd {
		case "EHLO", "HELO":
			say("250 fake")
		case "DATA":
			say("354 go on")
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
			}
			f.mu.Lock()
			f.accepted++
			f.mu.Unlock()
			say("250 ok")
			if after == "data" {
				return
			}
		case "RSET":
			say("250 ok")
			if after == "rset" {
				return
			}
		case "QUIT":
			say("221 bye")
			return
		default:
			say("250 ok")
		}
	}
}

func (f *fakeSMTP) counts() (conns, accepted int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.conns, f.accepted
}

// A kept connection the server has closed meanwhile costs no attempt: the
// message goes out at once on a new connection.
func TestSMTP_KeptConnectionClosedByServer_SendsOnANewOne(t *testing.T) {
	f := startFake(t, "rset")
	s, err := mailer.NewSMTP("smtp://"+f.addr, mailer.SMTPOptions{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 2 {
		if err := s.Send(context.Background(), envelope()); err != nil {
			t.Fatalf("message %d: %v", i+1, err)
		}
	}
	if conns, accepted := f.counts(); conns != 2 || accepted != 2 {
		t.Fatalf("%d accepted over %d connections; want 2 over 2", accepted, conns)
	}
}

// A message the server accepted is sent, even if the session broke right
// after (a failed RSET): reporting it unsent would send it twice.
func TestSMTP_AcceptedThenConnectionLost_IsSent(t *testing.T) {
	f := startFake(t, "data")
	s, err := mailer.NewSMTP("smtp://"+f.addr, mailer.SMTPOptions{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Send(context.Background(), envelope()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if err := s.Send(context.Background(), envelope()); err != nil {
		t.Fatalf("second Send (the broken connection must not be kept): %v", err)
	}
	if _, accepted := f.counts(); accepted != 2 {
		t.Fatalf("%d accepted, want 2", accepted)
	}
}
