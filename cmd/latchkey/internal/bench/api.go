package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// api calls the REST edge (API.md) as the bench's callers do: one HTTP
// client whose idle connections are enough for every caller, so that the
// figures are of calls, not of TCP handshakes.
type api struct {
	base string
	hc   *http.Client
}

func newAPI(base string) *api {
	return &api{base: base, hc: &http.Client{
		Timeout:   2 * time.Minute,
		Transport: &http.Transport{MaxIdleConns: 2048, MaxIdleConnsPerHost: 1024, IdleConnTimeout: time.Minute},
	}}
}

// call is one REST call; a status other than want is an error naming the
// answer's body (its reason, for the operator).
type call struct {
	method, path string
	body         any    // marshalled as JSON; nil: no body
	token        string // bearer token
	tenant       string // Latchkey-Tenant, for an operator acting in a tenant
	want         int    // expected status; 0: 200
}

// do makes c and decodes the answer into out (nil: discard it).
func (a *api) do(ctx context.Context, c call, out any) error {
	var rd io.Reader
	if c.body != nil {
		b, err := json.Marshal(c.body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, c.method, a.base+c.path, rd)
	if err != nil {
		return err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.tenant != "" {
		req.Header.Set("Latchkey-Tenant", c.tenant)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	want := c.want
	if want == 0 {
		want = http.StatusOK
	}
	if resp.StatusCode != want {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return &statusError{code: resp.StatusCode, msg: fmt.Sprintf("%s %s: %d %s", c.method, c.path, resp.StatusCode, bytes.TrimSpace(b))}
	}
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// tokens is the answer of a log-in or a refresh; NextStep is set instead
// when the log-in stopped at a step (which the bench counts as an error:
// it would not be the same work).
type tokens struct {
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
	NextStep     string `json:"nextStep"`
	LoginTicket  string `json:"loginTicket"`
}

// login logs user in with a password and insists on a full session.
func (a *api) login(ctx context.Context, tenant, user, password string) (tokens, error) {
	var t tokens
	err := a.do(ctx, call{method: "POST", path: "/v1/auth/login",
		body: map[string]string{"tenant": tenant, "username": user, "password": password}}, &t)
	if err == nil && t.AccessToken == "" {
		err = fmt.Errorf("log-in of %s answered the step %q, not a session", user, t.NextStep)
	}
	return t, err
}

// statusError is a REST answer with another status than the one wanted.
type statusError struct {
	code int
	msg  string
}

func (e *statusError) Error() string { return e.msg }
