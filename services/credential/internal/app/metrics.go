package app

import (
	"context"
	"errors"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/promx"
)

// Metrics count what an on-call person asks of log-ins: how many
// succeed, and why the others did not. A nil *Metrics counts nothing.
type Metrics struct {
	logins *prometheus.CounterVec
}

// NewMetrics registers the credential service's metrics on r (nil: none).
func NewMetrics(r prometheus.Registerer) (*Metrics, error) {
	if r == nil {
		return nil, nil
	}
	logins, err := promx.Register(r, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "latchkey_credential_logins_total",
		Help: "Log-in calls by method (password, pin, continue: a step's answer) and outcome: success, <step>_required " +
			"(mfa, enroll_mfa, change_password, accept_terms), or why it was refused, in lower case: wrong_password, wrong_code, " +
			"wrong_pin, account_locked, account_disabled (the client is told only that the credentials are wrong), " +
			"invalid_credentials (unknown company or user, or no password yet), another answer's reason " +
			"(password_hasher_busy, login_ticket_invalid...), invalid_request (a malformed call) or error (an internal failure).",
	}, []string{"method", "outcome"}))
	if err != nil {
		return nil, err
	}
	return &Metrics{logins: logins}, nil
}

// The log-in methods of the metrics.
const (
	loginByPassword = "password"
	loginByPIN      = "pin"
	loginContinued  = "continue"
)

// startLogin begins counting a log-in call of method: done counts it
// under its answer. ctx carries the slot where noteRefusal writes.
func (m *Metrics) startLogin(ctx context.Context, method string) (_ context.Context, done func(*LoginResult, error)) {
	if m == nil {
		return ctx, func(*LoginResult, error) {}
	}
	r := &refusal{}
	return context.WithValue(ctx, refusalKey{}, r), func(res *LoginResult, err error) {
		m.logins.WithLabelValues(method, loginOutcome(res, err, r.reason)).Inc()
	}
}

type refusalKey struct{}

// refusal is why the log-in call being counted was refused, when its
// answer does not say.
type refusal struct{ reason string }

// noteRefusal records reason (a LoginFailed reason such as WRONG_PASSWORD
// or ACCOUNT_LOCKED) as why the log-in call of ctx was refused: its answer
// is a wrong secret's whatever the reason, so as not to tell a guesser
// more, but the metrics, which only operators see, tell them apart.
func noteRefusal(ctx context.Context, reason string) {
	if r, ok := ctx.Value(refusalKey{}).(*refusal); ok {
		r.reason = reason
	}
}

// loginOutcome names an answer for the metrics. Refusals are named by
// their LoginFailed or ErrorInfo reason, both a fixed vocabulary, so the
// label stays bounded.
func loginOutcome(res *LoginResult, err error, refused string) string {
	var e *errs.Error
	switch {
	case err == nil && res != nil && res.Tokens != nil:
		return "success"
	case err == nil && res != nil && res.NextStep != "":
		return strings.ToLower(string(res.NextStep)) + "_required"
	case !errors.As(err, &e) || e.Kind == errs.KindInternal:
		return "error"
	case refused != "":
		return strings.ToLower(refused)
	case e.Kind == errs.KindInvalid:
		return "invalid_request" // whichever field: its reasons are many
	case e.Reason != "":
		return strings.ToLower(e.Reason)
	default:
		return "error"
	}
}
