package app

import (
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
			"(mfa, enroll_mfa, change_password, accept_terms), or the refusal's reason in lower case (invalid_credentials, " +
			"account_locked, account_disabled, password_hasher_busy, too_many_attempts...; error: an internal failure).",
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

// countLogin counts one log-in call's answer.
func (m *Metrics) countLogin(method string, res *LoginResult, err error) {
	if m == nil {
		return
	}
	m.logins.WithLabelValues(method, loginOutcome(res, err)).Inc()
}

// loginOutcome names an answer for the metrics. Refusals are named by
// their ErrorInfo reason, a fixed vocabulary, so the label stays bounded.
func loginOutcome(res *LoginResult, err error) string {
	var e *errs.Error
	switch {
	case err == nil && res != nil && res.Tokens != nil:
		return "success"
	case err == nil && res != nil && res.NextStep != "":
		return strings.ToLower(string(res.NextStep)) + "_required"
	case errors.As(err, &e) && e.Reason != "" && e.Kind != errs.KindInternal:
		return strings.ToLower(e.Reason)
	default:
		return "error"
	}
}
