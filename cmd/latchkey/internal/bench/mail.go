package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	smtp "github.com/emersion/go-smtp"
)

// sink is the SMTP server the bench points a suite it started at: it
// accepts every message, keeps nothing, and notes when each message for a
// watched domain arrived. (libs/testkit/smtptest keeps whole messages and
// needs a testing.TB; a sizing run needs neither.)
type sink struct {
	addr string
	srv  *smtp.Server

	mu       sync.Mutex
	domain   string // recipients "…@domain" are counted
	arrivals []time.Time
}

func startSink() (*sink, error) {
	s := &sink{}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{s: s}, nil }))
	s.srv.Domain = "localhost"
	s.srv.ReadTimeout, s.srv.WriteTimeout = time.Minute, time.Minute
	s.srv.MaxMessageBytes = 10 << 20
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.addr = lis.Addr().String()
	go s.srv.Serve(lis)
	return s, nil
}

func (s *sink) close() { s.srv.Close() }

// watch starts counting the messages to …@domain (and forgets others).
func (s *sink) watch(domain string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.domain, s.arrivals = "@"+domain, nil
}

// wait waits until n watched messages arrived, or ctx ends, or nothing
// arrived for idle, and returns the arrival times.
func (s *sink) wait(ctx context.Context, n int, idle time.Duration) []time.Time {
	last, lastCount := time.Now(), -1
	for {
		s.mu.Lock()
		got := append([]time.Time(nil), s.arrivals...)
		s.mu.Unlock()
		if len(got) >= n || ctx.Err() != nil {
			return got
		}
		if len(got) != lastCount {
			last, lastCount = time.Now(), len(got)
		} else if time.Since(last) > idle {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type sinkSession struct {
	s       *sink
	watched bool
}

func (x *sinkSession) Reset()                               { x.watched = false }
func (x *sinkSession) Logout() error                        { return nil }
func (x *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (x *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.s.mu.Lock()
	if x.s.domain != "" && strings.HasSuffix(strings.ToLower(to), x.s.domain) {
		x.watched = true
	}
	x.s.mu.Unlock()
	return nil
}

func (x *sinkSession) Data(r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	if x.watched {
		x.s.mu.Lock()
		x.s.arrivals = append(x.s.arrivals, time.Now())
		x.s.mu.Unlock()
	}
	return nil
}

// mailSample is what the e-mail phase saw.
type mailSample struct {
	asked, got   int
	elapsed      time.Duration // from the first request to the last arrival
	firstArrival time.Duration // from the first request
	err          error
}

func (m mailSample) rate() float64 {
	if m.elapsed <= 0 {
		return 0
	}
	return float64(m.got) / m.elapsed.Seconds()
}

// measureMail imports n accounts without a password into the tenant: each
// is invited (AccountInvited), the recovery service issues its activation
// link and the notification service e-mails it. That is the whole e-mail
// path a mass invitation takes — event, link, queue, rendering, SMTP —
// triggered by a handful of calls. The rate is the messages the sink
// received over the time from the first import call to the last arrival.
func measureMail(ctx context.Context, progress io.Writer, a *api, snk *sink, operatorToken string, t *tenant, n int) mailSample {
	domain := "mail." + t.code + ".example"
	snk.watch(domain)
	rows := make([]account, n)
	for i := range rows {
		u := fmt.Sprintf("invitee%05d", i)
		rows[i] = account{Username: u, Email: u + "@" + domain, DisplayName: "Bench " + u, Roles: []string{"USER"}}
	}
	m := mailSample{asked: n}
	start := time.Now()
	stopProgress := showProgress(progress, "e-mail", func() (int64, int64, time.Duration) {
		snk.mu.Lock()
		defer snk.mu.Unlock()
		return int64(len(snk.arrivals)), 0, time.Since(start)
	})
	defer stopProgress()
	if _, err := importAccounts(ctx, a, operatorToken, t.code, rows); err != nil {
		m.err = err
		return m
	}
	got := snk.wait(ctx, n, 15*time.Second)
	m.got = len(got)
	if m.got > 0 {
		first, last := slices.MinFunc(got, time.Time.Compare), slices.MaxFunc(got, time.Time.Compare)
		m.firstArrival, m.elapsed = first.Sub(start), last.Sub(start)
	}
	if m.got < n {
		m.err = fmt.Errorf("%d of %d e-mails arrived (nothing more for 15 s)", m.got, n)
	}
	return m
}
