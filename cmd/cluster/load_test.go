package cluster_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// The load the fault tests run through the gateway, and the ledger of
// what the gateway acknowledged to its clients: every change a 2xx
// answered must be found afterwards, with its events and e-mails.

// api is a REST client of the cluster's gateway.
type api struct {
	base, token string
	http        *http.Client
}

// call sends body as JSON and decodes the answer; status 0 is a
// transport error (connection refused or cut, timeout).
func (a api) call(method, path string, body any, header map[string]string) (int, map[string]any) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, a.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return 0, map[string]any{"error": err.Error()}
	}
	defer resp.Body.Close()
	out := map[string]any{}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func (a api) as(token string) api { a.token = token; return a }

// user is one account of the load whose password the ledger follows.
type user struct {
	name, email string
	// password is the last one a 2xx answer confirmed; pending one sent
	// in a change whose answer never came (it may or may not be set).
	password, pending string
	token             string
}

// ledger counts what clients saw and remembers what was acknowledged.
type ledger struct {
	mu sync.Mutex
	// answers counts each operation's answers by status (0: no answer).
	answers map[string]map[int]int
	// invited are the accounts whose creation was acknowledged, by id.
	invited map[string]string // id → e-mail
	// changes counts acknowledged password changes.
	changes int
	// resets counts acknowledged reset requests by e-mail address.
	resets map[string]int
	// retried counts calls a client repeated after no or a 5xx answer.
	retried int
}

func newLedger() *ledger {
	return &ledger{answers: map[string]map[int]int{}, invited: map[string]string{}, resets: map[string]int{}}
}

func (l *ledger) saw(op string, status int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.answers[op] == nil {
		l.answers[op] = map[int]int{}
	}
	l.answers[op][status]++
}

// acknowledged is how many calls got a 2xx answer.
func (l *ledger) acknowledged() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, by := range l.answers {
		for st, c := range by {
			if st >= 200 && st < 300 {
				n += c
			}
		}
	}
	return n
}

// unclear are the answers a client cannot act on: anything but 2xx, the
// 4xx the load expects, and a clear 503 (retry later). A 500 leaves the
// client not knowing whether its change was made.
func (l *ledger) unclear() map[string]map[int]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]map[int]int{}
	for op, by := range l.answers {
		for st, c := range by {
			if st == 0 || st == 500 || st > 503 {
				if out[op] == nil {
					out[op] = map[int]int{}
				}
				out[op][st] += c
			}
		}
	}
	return out
}

func (l *ledger) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ops []string
	for op := range l.answers {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	var b strings.Builder
	for _, op := range ops {
		fmt.Fprintf(&b, " %s %v", op, l.answers[op])
	}
	return b.String()
}

// load runs workers against the gateway until stop is closed: each owns
// its users and signs in, changes a password, invites an account (with an
// idempotency key, repeated until answered) or asks for a reset link, in
// turn.
type load struct {
	admin  api
	tenant string
	l      *ledger
	users  [][]*user // per worker
}

func (ld *load) run(stop <-chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	for w := range ld.users {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				u := ld.users[w][i%len(ld.users[w])]
				switch i % 4 {
				case 0:
					ld.login(u)
				case 1:
					ld.changePassword(u, fmt.Sprintf("Load-Pass-%d-%s", i, randomHex(4)))
				case 2:
					ld.invite(stop)
				case 3:
					ld.reset(u)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	return &wg
}

// login signs u in with its password, or the pending one when the
// password is refused (an unanswered change that was made after all).
func (ld *load) login(u *user) bool {
	for _, pw := range []string{u.password, u.pending} {
		if pw == "" {
			continue
		}
		st, body := ld.admin.as("").call("POST", "/v1/auth/login", map[string]any{"tenant": ld.tenant, "username": u.name, "password": pw}, nil)
		ld.l.saw("login", st)
		if st == 200 && body["accessToken"] != nil {
			u.password, u.pending, u.token = pw, "", body["accessToken"].(string)
			return true
		}
		if st != 401 {
			return false // not an answer about the password
		}
	}
	return false
}

func (ld *load) changePassword(u *user, next string) {
	if u.token == "" && !ld.login(u) {
		return
	}
	st, _ := ld.admin.as(u.token).call("POST", "/v1/me/password", map[string]any{"currentPassword": u.password, "newPassword": next}, nil)
	ld.l.saw("change", st)
	switch {
	case st == 200:
		u.password, u.pending = next, ""
		ld.l.mu.Lock()
		ld.l.changes++
		ld.l.mu.Unlock()
	case st == 0 || st >= 500:
		u.pending = next
	}
	u.token = "" // a change ends the other sessions; sign in again next time
}

// invite creates an account, repeating the call with the same idempotency
// key until it is answered (a client that must not create it twice).
func (ld *load) invite(stop <-chan struct{}) {
	key := randomHex(12)
	name := "inv-" + key
	body := map[string]any{"username": name, "email": name + "@fault.example", "displayName": "Invitee " + key,
		"roles": []string{"USER"}, "activation": "EMAIL_LINK"}
	for attempt := 0; attempt < 100; attempt++ {
		st, resp := ld.admin.call("POST", "/v1/admin/accounts", body, map[string]string{"Idempotency-Key": key})
		ld.l.saw("invite", st)
		if st == 200 {
			acct, _ := resp["account"].(map[string]any)
			id, _ := acct["id"].(string)
			ld.l.mu.Lock()
			ld.l.invited[id] = name + "@fault.example"
			ld.l.mu.Unlock()
			return
		}
		if st != 0 && st < 500 {
			return
		}
		ld.l.mu.Lock()
		ld.l.retried++
		ld.l.mu.Unlock()
		select {
		case <-stop:
			if attempt > 50 {
				return
			}
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (ld *load) reset(u *user) {
	st, _ := ld.admin.as("").call("POST", "/v1/recovery/password-reset", map[string]any{"tenant": ld.tenant, "login": u.email}, nil)
	ld.l.saw("reset", st)
	if st == 202 {
		ld.l.mu.Lock()
		ld.l.resets[u.email]++
		ld.l.mu.Unlock()
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// must fails t unless the answer has status want.
func must(t *testing.T, what string, st int, body map[string]any, want int) {
	t.Helper()
	if st != want {
		t.Fatalf("%s: %d %v, want %d", what, st, body, want)
	}
}
