package allinone_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"

	"github.com/latchkey/latchkey/cmd/allinone"
	"github.com/latchkey/latchkey/libs/logx"
	"github.com/latchkey/latchkey/libs/requestid"
	"github.com/latchkey/latchkey/libs/testkit"
	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
)

// logLine is one line's level, message and request id.
type logLine struct {
	Level, Msg, RequestID string
	raw                   string
}

// logsSince parses what logs holds past offset, and the new offset.
func logsSince(t *testing.T, logs *testkit.LogBuffer, offset int) ([]logLine, int) {
	t.Helper()
	all := logs.String()
	var out []logLine
	for s := range strings.SplitSeq(strings.TrimSpace(all[offset:]), "\n") {
		if s == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatalf("log line is not JSON: %s", s)
		}
		l := logLine{raw: s}
		l.Level, _ = m["level"].(string)
		l.Msg, _ = m["msg"].(string)
		l.RequestID, _ = m[requestid.LogKey].(string)
		out = append(out, l)
	}
	return out, len(all)
}

// The log of a client's ordinary calls costs one line each and alarms no
// one (issue 14): a log-in, GET /v1/me (REST and gRPC), a wrong password
// and a log-in the client gives up on write no WARN or ERROR line anywhere
// in the suite, and at most one INFO line per call — the edge's access
// line, which names the request. Run at the production level (info),
// through logx.New.
func TestLogs_OrdinaryCallsWriteOneInfoLineAndNoAlarm(t *testing.T) {
	logs := &testkit.LogBuffer{}
	log, err := logx.New(logs, "info")
	if err != nil {
		t.Fatal(err)
	}
	inst := startWithConfig(t, false, allinone.Config{
		Edge: loopbackEdge, DataDir: t.TempDir(), NATSURL: testkit.NATS(t).URL, Logger: log,
	})
	op := client{t: t, base: inst.HTTPURL, token: inst.OperatorToken}
	code := tenantWithAdmin(t, op, nil)
	anon := client{t: t, base: op.base}
	st, body := login(anon, code, "admin", "Temporary-Pass-2026")
	if st != 200 {
		t.Fatalf("first log-in: %d %v", st, body)
	}
	st, body = anon.do("POST", "/v1/auth/login:continue", map[string]any{"loginTicket": body["loginTicket"], "newPassword": "Much-Better-Pass-1"})
	if st != 200 {
		t.Fatalf("change temporary password: %d %v", st, body)
	}
	token := body["accessToken"].(string)
	// Start-up and set-up lines are not what this test counts, but they
	// raise no alarm either.
	setup, offset := logsSince(t, logs, 0)
	for _, l := range setup {
		// Mail that goes nowhere but the built-in mailbox is worth a
		// warning in any deployment, even this test's.
		noSMTP := strings.HasPrefix(l.Msg, "notification: no SMTP server configured")
		if l.Level == "ERROR" || (l.Level == "WARN" && !noSMTP) {
			t.Errorf("start-up or set-up: %s", l.raw)
		}
	}

	loginBody := func(pw string) string {
		b, _ := json.Marshal(map[string]any{"tenant": code, "username": "admin", "password": pw})
		return string(b)
	}
	rest := func(method, path, body, token string, wantStatus int) func(ctx context.Context, id string) error {
		return func(ctx context.Context, id string) error {
			req, err := http.NewRequestWithContext(ctx, method, inst.HTTPURL+path, strings.NewReader(body))
			if err != nil {
				return err
			}
			req.Header.Set(requestid.Header, id)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != wantStatus {
				return fmt.Errorf("status %d, want %d", resp.StatusCode, wantStatus)
			}
			return nil
		}
	}
	me := accountv1.NewAccountServiceClient(grpcConn(t, inst.GRPCAddr))
	calls := []struct {
		name string
		call func(ctx context.Context, id string) error
		// cancelAfter, when set, cancels the call while the password is
		// hashed (or, on a fast machine, just after: either way the log
		// must stay quiet).
		cancelAfter time.Duration
	}{
		{name: "log-in", call: rest("POST", "/v1/auth/login", loginBody("Much-Better-Pass-1"), "", 200)},
		{name: "GET /v1/me", call: rest("GET", "/v1/me", "", token, 200)},
		{name: "gRPC GetMe", call: func(ctx context.Context, id string) error {
			ctx = metadata.AppendToOutgoingContext(withAuth(ctx, token, ""), requestid.MetadataKey, id)
			_, err := me.GetMe(ctx, &accountv1.GetMeRequest{})
			return err
		}},
		{name: "wrong password", call: rest("POST", "/v1/auth/login", loginBody("Wrong-Pass-1"), "", 401)},
		{name: "cancelled log-in", call: rest("POST", "/v1/auth/login", loginBody("Much-Better-Pass-1"), "", 200), cancelAfter: 5 * time.Millisecond},
	}
	for i, c := range calls {
		id := fmt.Sprintf("logs-test-%d-%s", i, testkit.UniquePrefix(t)[:8])
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if c.cancelAfter > 0 {
			ctx, cancel = context.WithTimeout(ctx, c.cancelAfter)
		}
		err := c.call(ctx, id)
		cancel()
		if err != nil && c.cancelAfter == 0 {
			t.Fatalf("%s: %v", c.name, err)
		}

		// The access line is written as the answer goes out: wait for it
		// (a cancelled call may have none, if it never reached the edge),
		// and give a cancelled call's backend time to finish hashing.
		accessLine := func() error {
			if strings.Contains(logs.String()[offset:], `"request_id":"`+id+`"`) {
				return nil
			}
			return errors.New("no line of the call yet")
		}
		if c.cancelAfter > 0 {
			time.Sleep(500 * time.Millisecond)
		} else {
			testkit.Eventually(t, 10*time.Second, accessLine)
		}
		var lines []logLine
		lines, offset = logsSince(t, logs, offset)

		byLevel := map[string]int{}
		var ofCall []string
		for _, l := range lines {
			switch {
			case l.Level == "WARN" || l.Level == "ERROR":
				t.Errorf("%s: %s line: %s", c.name, l.Level, l.raw)
			case l.RequestID == id:
				byLevel[l.Level]++
				ofCall = append(ofCall, l.raw)
			case l.Msg == "http call" || l.Msg == "grpc call":
				t.Errorf("%s: a call's line without the request id: %s", c.name, l.raw)
			}
		}
		t.Logf("%s: %d lines with its request id %v %s", c.name, len(ofCall), byLevel, strings.Join(ofCall, " "))
		if byLevel["INFO"] > 1 || (c.cancelAfter == 0 && byLevel["INFO"] != 1) {
			t.Errorf("%s: %d INFO lines, want the one access line:\n%s", c.name, byLevel["INFO"], strings.Join(ofCall, "\n"))
		}
	}
}
