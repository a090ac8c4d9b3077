package allinone_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/latchkey/latchkey/cmd/allinone"
	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/testkit"
	"github.com/latchkey/latchkey/libs/testkit/smtptest"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
	recoveryv1 "github.com/latchkey/latchkey/proto/gen/latchkey/recovery/v1"
)

// startWithSMTP runs the suite with its e-mail going to a real SMTP server
// on loopback, which the test reads.
func startWithSMTP(t *testing.T, postgres bool) (*allinone.Instance, *smtptest.Server) {
	t.Helper()
	srv := smtptest.Start(t, smtptest.Options{})
	cfg := allinone.Config{Edge: loopbackEdge, DataDir: t.TempDir(), NATSURL: testkit.NATS(t).URL,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	cfg.Notification.SMTPURL = "smtp://" + srv.Addr
	return startWithConfig(t, postgres, cfg), srv
}

// mailText is the text/plain part of an e-mail, decoded.
func mailText(t *testing.T, raw []byte) (subject, text string) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var walk func(ctype, cte string, body io.Reader)
	walk = func(ctype, cte string, body io.Reader) {
		mt, params, _ := mime.ParseMediaType(ctype)
		if strings.HasPrefix(mt, "multipart/") {
			mr := multipart.NewReader(body, params["boundary"])
			for {
				part, err := mr.NextRawPart()
				if err != nil {
					return
				}
				walk(part.Header.Get("Content-Type"), part.Header.Get("Content-Transfer-Encoding"), part)
			}
		}
		if mt != "text/plain" || text != "" {
			return
		}
		switch strings.ToLower(cte) {
		case "base64":
			body = base64.NewDecoder(base64.StdEncoding, body)
		case "quoted-printable":
			body = quotedprintable.NewReader(body)
		}
		b, _ := io.ReadAll(body)
		text = string(b)
	}
	walk(m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Body)
	dec := new(mime.WordDecoder)
	subject, _ = dec.DecodeHeader(m.Header.Get("Subject"))
	return subject, text
}

var emailedLink = regexp.MustCompile(`/ui/(activate|reset-password)\?token=([A-Za-z0-9_-]{43})`)

// linkMail waits for the n-th e-mail with a link (counting from 1) to
// arrive at srv for address to (other e-mail, such as notices, is passed
// over) and returns its link's kind and token and its text.
func linkMail(t *testing.T, srv *smtptest.Server, n int, to string) (kind, token, text string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		seen := 0
		for _, m := range srv.Messages() {
			if !slices.Contains(m.To, to) {
				continue
			}
			_, text := mailText(t, m.Data)
			if got := emailedLink.FindStringSubmatch(text); got != nil {
				if seen++; seen == n {
					return got[1], got[2], text
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("e-mail %d with a link to %s did not arrive (%d so far)", n, to, seen)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// J1's recovery part and "forgot password", through REST with real SMTP:
// the admin invites a user; the activation e-mail carries the link and
// the company code; the link sets the first password once; the user logs
// in. Then the user forgets the password: the reset e-mail's link sets a
// new one, the old password stops working and the new one logs in.
func TestJourney_InviteActivateLogIn_ForgotPasswordResetLogIn(t *testing.T) {
	for _, pg := range []bool{true, false} {
		t.Run(map[bool]string{true: "postgres", false: "sqlite"}[pg], func(t *testing.T) {
			inst, srv := startWithSMTP(t, pg)
			op := client{t: t, base: inst.HTTPURL, token: inst.OperatorToken}
			anon := client{t: t, base: inst.HTTPURL}
			code, _, admin := adminTenant(t, op, map[string]any{"password": map[string]any{"minLength": 10, "minDigits": 1}})
			email := "j.jansen@" + code + ".example"

			// Step 1: the admin invites the user (EMAIL_LINK).
			st, body := admin.do("POST", "/v1/admin/accounts", map[string]any{"username": "j.jansen", "email": email,
				"displayName": "Jan Jansen", "roles": []string{"USER"}, "activation": "EMAIL_LINK"})
			if st != 200 {
				t.Fatalf("invite: %d %v", st, body)
			}
			accountID := body["account"].(map[string]any)["id"].(string)

			// Step 2: the activation e-mail, with the company code.
			kind, token, text := linkMail(t, srv, 1, email)
			if kind != "activate" || !strings.Contains(text, code) {
				t.Fatalf("activation e-mail (%s) without the company code %s:\n%s", kind, code, text)
			}

			// Step 3: the link sets the first password; a refused one
			// leaves the link usable.
			if st, body := anon.do("POST", "/v1/recovery/activation:complete", map[string]any{"token": token, "newPassword": "short"}); st != 400 {
				t.Fatalf("weak first password: %d %v", st, body)
			}
			st, body = anon.do("POST", "/v1/recovery/activation:complete", map[string]any{"token": token, "newPassword": "First-Password-1"})
			if st != 200 || body["tenantCode"] != code || body["username"] != "j.jansen" {
				t.Fatalf("complete activation: %d %v", st, body)
			}
			st, body = anon.do("POST", "/v1/recovery/activation:complete", map[string]any{"token": token, "newPassword": "Other-Password-2"})
			if st != 401 || reasonOf(body) != "LINK_TOKEN_INVALID" {
				t.Fatalf("the link a second time: %d %v", st, body)
			}
			_, body = admin.do("GET", "/v1/admin/accounts/"+accountID, nil)
			if s := body["account"].(map[string]any)["status"]; s != "ACTIVE" {
				t.Fatalf("after activation the account is %v", s)
			}

			// Step 4: log-in with the chosen password.
			if st, body := login(anon, code, "j.jansen", "First-Password-1"); st != 200 || body["accessToken"] == nil {
				t.Fatalf("log-in after activation: %d %v", st, body)
			}

			// Step 5: forgot password: 202, then the reset e-mail.
			if st, body := anon.do("POST", "/v1/recovery/password-reset", map[string]any{"tenant": code, "login": email}); st != 202 {
				t.Fatalf("forgot password: %d %v", st, body)
			}
			kind, token, _ = linkMail(t, srv, 2, email)
			if kind != "reset-password" {
				t.Fatalf("reset e-mail link kind %s", kind)
			}

			// Step 6: the reset page inspects and completes the link.
			st, body = anon.do("POST", "/v1/recovery/password-reset:inspect", map[string]any{"token": token})
			if st != 200 || len(items(body, "requires")) != 0 || body["passwordRules"].(map[string]any)["minLength"] != 10.0 {
				t.Fatalf("inspect: %d %v", st, body)
			}
			st, body = anon.do("POST", "/v1/recovery/password-reset:complete", map[string]any{"token": token, "newPassword": "Second-Password-2"})
			if st != 200 || body["tenantCode"] != code {
				t.Fatalf("complete reset: %d %v", st, body)
			}

			// Step 7: the old password is gone, the new one logs in.
			if st, _ := login(anon, code, "j.jansen", "First-Password-1"); st != 401 {
				t.Fatalf("old password after the reset: %d", st)
			}
			st, body = login(anon, code, "j.jansen", "Second-Password-2")
			if st != 200 || body["accessToken"] == nil {
				t.Fatalf("log-in with the new password: %d %v", st, body)
			}

			// Step 8: the links proved the address; a new one the
			// administrator sets is not proven until a link sent to it
			// is used.
			me := client{t: t, base: inst.HTTPURL, token: body["accessToken"].(string)}
			if st, body := me.do("GET", "/v1/me/recovery", nil); st != 200 || body["emailVerified"] != true {
				t.Fatalf("GET /v1/me/recovery after the links: %d %v", st, body)
			}
			if st, body := admin.do("PATCH", "/v1/admin/accounts/"+accountID+"?updateMask=email", map[string]any{"email": "jan@" + code + ".example"}); st != 200 {
				t.Fatalf("change e-mail: %d %v", st, body)
			}
			testkit.Eventually(t, 10*time.Second, func() error {
				if st, body := me.do("GET", "/v1/me/recovery", nil); st != 200 || body["emailVerified"] == true { // false is left out
					return fmt.Errorf("GET /v1/me/recovery after an e-mail change: %d %v", st, body)
				}
				return nil
			})
		})
	}
}

// Forgot-password reveals nothing: for an existing and a missing account
// (and an unknown tenant) the REST answers are byte-identical (status,
// headers but X-Request-Id and Date, body), and so are the gRPC ones
// (message, headers and trailers but x-request-id).
func TestPasswordReset_ExistingAndMissingAccountsAnswerByteIdentical(t *testing.T) {
	inst := start(t, false, testkit.NATS(t).URL, t.TempDir())
	op := client{t: t, base: inst.HTTPURL, token: inst.OperatorToken}
	code := tenantWithAdmin(t, op, nil)

	rest := func(tenant, login string) string {
		body := `{"tenant":"` + tenant + `","login":"` + login + `"}`
		resp, err := http.Post(inst.HTTPURL+"/v1/recovery/password-reset", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var hs []string
		for k, v := range resp.Header {
			if k == "X-Request-Id" || k == "Date" {
				continue
			}
			hs = append(hs, k+": "+strings.Join(v, ","))
		}
		sort.Strings(hs)
		return resp.Status + "\n" + strings.Join(hs, "\n") + "\n\n" + string(raw)
	}
	existing := rest(code, "admin")
	if !strings.HasPrefix(existing, "202") {
		t.Fatalf("existing account: %s", existing)
	}
	for _, other := range [][2]string{{code, "nobody"}, {"no-such-tenant", "admin"}} {
		if got := rest(other[0], other[1]); got != existing {
			t.Errorf("REST answers differ:\nexisting:\n%s\n%v:\n%s", existing, other, got)
		}
	}

	c := recoveryv1.NewRecoveryServiceClient(grpcConn(t, inst.GRPCAddr))
	call := func(tenant, login string) string {
		var header, trailer metadata.MD
		resp, err := c.RequestPasswordReset(context.Background(), &recoveryv1.RequestPasswordResetRequest{Tenant: tenant, Login: login},
			grpc.Header(&header), grpc.Trailer(&trailer))
		if err != nil {
			t.Fatalf("gRPC %s/%s: %v", tenant, login, err)
		}
		b, _ := proto.Marshal(resp)
		md := metadata.Join(header, trailer)
		delete(md, "x-request-id")
		var hs []string
		for k, v := range md {
			hs = append(hs, k+": "+strings.Join(v, ","))
		}
		sort.Strings(hs)
		return strings.Join(hs, "\n") + "\n\n" + string(b)
	}
	want := call(code, "admin")
	for _, other := range [][2]string{{code, "nobody"}, {"no-such-tenant", "admin"}} {
		if got := call(other[0], other[1]); got != want {
			t.Errorf("gRPC answers differ:\nexisting:\n%q\n%v:\n%q", want, other, got)
		}
	}
}

// Forgot-password takes about as long for an existing account as for a
// missing one: the call stores the request and answers, and the look-up
// happens later. The test reports the medians of 50 calls each
// (interleaved) and wants them within 10 % of each other (testkit.SameTime
// says how noise on a busy machine is told from a difference).
func TestPasswordReset_MedianTimesAlike(t *testing.T) {
	inst := start(t, false, testkit.NATS(t).URL, t.TempDir())
	op := client{t: t, base: inst.HTTPURL, token: inst.OperatorToken}
	code := tenantWithAdmin(t, op, nil)
	timeOne := func(login string) time.Duration {
		body := `{"tenant":"` + code + `","login":"` + login + `"}`
		start := time.Now()
		resp, err := http.Post(inst.HTTPURL+"/v1/recovery/password-reset", "application/json", strings.NewReader(body))
		d := time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 202 {
			t.Fatalf("%s: %d", login, resp.StatusCode)
		}
		return d
	}
	for range 10 { // warm-up: connections, caches, the worker
		timeOne("admin")
		timeOne("nobody-here")
	}
	testkit.SameTime(t, "REST password-reset requests, existing vs missing account", 50, 5, 0.10,
		func() time.Duration { return timeOne("admin") }, func() time.Duration { return timeOne("nobody-here") })
}

// inspectReason is the reason :inspect gives for token ("" when it is
// accepted).
func inspectReason(anon client, token string) (int, string) {
	st, body := anon.do("POST", "/v1/recovery/password-reset:inspect", map[string]any{"token": token})
	return st, reasonOf(body)
}

// An account's reset links stop working when its username, its e-mail
// address or its password changes (by the user or an administrator), or it
// is disabled: the recovery service consumes those events. Administrators
// send resets and activations of their own tenant only; a new link voids
// the older one of its kind.
func TestRecoveryLinks_VoidedByAccountChanges_AdminSendsLinks(t *testing.T) {
	for _, pg := range []bool{true, false} {
		t.Run(map[bool]string{true: "postgres", false: "sqlite"}[pg], func(t *testing.T) {
			inst, srv := startWithSMTP(t, pg)
			op := client{t: t, base: inst.HTTPURL, token: inst.OperatorToken}
			anon := client{t: t, base: inst.HTTPURL}
			code, _, admin := adminTenant(t, op, nil)
			id, tokens := userWithPassword(t, admin, code, "jan", "Blue-Harbour-71")
			me := client{t: t, base: inst.HTTPURL, token: tokens["accessToken"].(string)}
			email := "jan@" + code + ".example"

			n := 0
			sendReset := func() string {
				t.Helper()
				if st, body := admin.do("POST", "/v1/admin/accounts/"+id+":sendPasswordReset", map[string]any{}); st != 200 {
					t.Fatalf("sendPasswordReset: %d %v", st, body)
				}
				n++
				_, token, _ := linkMail(t, srv, n, email)
				return token
			}
			voidedBy := func(what string, change func()) {
				t.Helper()
				token := sendReset()
				if st, r := inspectReason(anon, token); r == "LINK_TOKEN_INVALID" {
					t.Fatalf("a fresh link is refused before %s: %d", what, st)
				}
				change()
				testkit.Eventually(t, 10*time.Second, func() error {
					if st, r := inspectReason(anon, token); st != 401 || r != "LINK_TOKEN_INVALID" {
						return fmt.Errorf("the link after %s: %d %s", what, st, r)
					}
					return nil
				})
			}

			first := sendReset()
			second := sendReset()
			if st, r := inspectReason(anon, first); st != 401 || r != "LINK_TOKEN_INVALID" {
				t.Fatalf("the older link after a new one: %d %s", st, r)
			}
			_ = second
			voidedBy("a username change", func() {
				if st, body := admin.do("POST", "/v1/admin/accounts/"+id+":changeUsername", map[string]any{"newUsername": "jan.j"}); st != 200 {
					t.Fatalf("change username: %d %v", st, body)
				}
			})
			voidedBy("the user's password change", func() {
				if st, body := me.do("POST", "/v1/me/password", map[string]any{"currentPassword": "Blue-Harbour-71", "newPassword": "Green-Harbour-72"}); st != 200 {
					t.Fatalf("change password: %d %v", st, body)
				}
			})
			voidedBy("an administrator's new password", func() {
				if st, body := admin.do("POST", "/v1/admin/accounts/"+id+":setPassword", map[string]any{"password": "Admins-Choice-73", "temporary": true}); st != 200 {
					t.Fatalf("admin sets password: %d %v", st, body)
				}
			})
			voidedBy("an e-mail change", func() {
				email = "jan.j@" + code + ".example"
				if st, body := admin.do("PATCH", "/v1/admin/accounts/"+id+"?updateMask=email", map[string]any{"email": email}); st != 200 {
					t.Fatalf("change e-mail: %d %v", st, body)
				}
				n = 0 // the next link goes to the new address
			})
			voidedBy("disabling the account", func() {
				if st, body := admin.do("POST", "/v1/admin/accounts/"+id+":disable", map[string]any{}); st != 200 {
					t.Fatalf("disable: %d %v", st, body)
				}
			})
			if st, body := admin.do("POST", "/v1/admin/accounts/"+id+":sendPasswordReset", map[string]any{}); st != 400 || reasonOf(body) != "ACCOUNT_DISABLED" {
				t.Fatalf("reset of a disabled account: %d %v", st, body)
			}

			// Activation e-mail again, for PENDING accounts only.
			if st, body := admin.do("POST", "/v1/admin/accounts/"+id+":resendActivation", map[string]any{}); st != 400 || reasonOf(body) != "ACCOUNT_NOT_PENDING" {
				t.Fatalf("resend activation to an activated account: %d %v", st, body)
			}
			st, body := admin.do("POST", "/v1/admin/accounts", map[string]any{"username": "piet", "email": "piet@" + code + ".example",
				"displayName": "Piet", "roles": []string{"USER"}, "activation": "EMAIL_LINK"})
			if st != 200 {
				t.Fatalf("invite: %d %v", st, body)
			}
			pietID := body["account"].(map[string]any)["id"].(string)
			_, old, _ := linkMail(t, srv, 1, "piet@"+code+".example")
			if st, body := admin.do("POST", "/v1/admin/accounts/"+pietID+":resendActivation", map[string]any{}); st != 200 {
				t.Fatalf("resend activation: %d %v", st, body)
			}
			_, fresh, _ := linkMail(t, srv, 2, "piet@"+code+".example")
			if st, body := anon.do("POST", "/v1/recovery/activation:complete", map[string]any{"token": old, "newPassword": "Red-Lantern-74"}); st != 401 {
				t.Fatalf("the first activation link after a resend: %d %v", st, body)
			}
			if st, body := anon.do("POST", "/v1/recovery/activation:complete", map[string]any{"token": fresh, "newPassword": "Red-Lantern-74"}); st != 200 {
				t.Fatalf("the new activation link: %d %v", st, body)
			}

			// Another tenant's administrator cannot reach the account.
			_, _, stranger := adminTenant(t, op, nil)
			if st, body := stranger.do("POST", "/v1/admin/accounts/"+pietID+":sendPasswordReset", map[string]any{}); st != 404 {
				t.Fatalf("another tenant's admin: %d %v", st, body)
			}
			// A user is no administrator.
			if st, body := me.do("POST", "/v1/admin/accounts/"+pietID+":sendPasswordReset", map[string]any{}); st != 403 && st != 401 {
				t.Fatalf("a user sending a reset: %d %v", st, body)
			}
		})
	}
}

// Security questions through REST: a tenant that uses them prompts
// SET_RECOVERY_INFO until they are set; setting them needs a recent
// authentication, which a fresh log-in is; then the prompt is gone and
// GET /v1/me/recovery lists the questions (never the answers).
func TestSecurityQuestions_FreshLogInSetsThem_PromptEnds(t *testing.T) {
	eachStoreWithClock(t, func(t *testing.T, op client, inst *allinone.Instance, clk *clock.Fake) {
		code, _, admin := adminTenant(t, op, map[string]any{"recovery": map[string]any{"securityQuestions": true, "securityQuestionsRequired": 2}})
		_, tokens := userWithPassword(t, admin, code, "marije", "Quiet-Forest-75")
		if fmt.Sprint(tokens["prompts"]) != "[SET_RECOVERY_INFO]" {
			t.Fatalf("prompts before questions: %v", tokens["prompts"])
		}
		me := client{t: t, base: inst.HTTPURL, token: tokens["accessToken"].(string)}
		qs := []map[string]any{{"question": "Name of my first bike?", "answer": "Gazelle"}, {"question": "Street I grew up in?", "answer": "Dorpsstraat"}}
		if st, body := me.do("PUT", "/v1/me/recovery/security-questions", map[string]any{"questions": qs[:1]}); st != 400 || !slices.Contains(fieldViolations(body), "questions") {
			t.Fatalf("one question of two: %d %v", st, body)
		}
		clk.Advance(6 * time.Minute)
		if st, body := me.do("PUT", "/v1/me/recovery/security-questions", map[string]any{"questions": qs}); st != 403 || reasonOf(body) != "REAUTHENTICATION_REQUIRED" {
			t.Fatalf("six minutes after the log-in: %d %v", st, body)
		}
		anon := client{t: t, base: inst.HTTPURL}
		st, body := login(anon, code, "marije", "Quiet-Forest-75")
		if st != 200 {
			t.Fatalf("log-in: %d %v", st, body)
		}
		me.token = body["accessToken"].(string)
		if st, body := me.do("PUT", "/v1/me/recovery/security-questions", map[string]any{"questions": qs}); st != 200 {
			t.Fatalf("set questions after a fresh log-in: %d %v", st, body)
		}
		st, body = me.do("GET", "/v1/me/recovery", nil)
		if st != 200 || body["securityQuestionsSet"] != true || len(items(body, "questions")) != 2 || body["securityQuestionsRequired"] != 2.0 {
			t.Fatalf("GET /v1/me/recovery: %d %v", st, body)
		}
		if strings.Contains(fmt.Sprint(body), "Gazelle") {
			t.Fatalf("an answer came back: %v", body)
		}
		_, body = login(anon, code, "marije", "Quiet-Forest-75")
		if body["accessToken"] == nil || len(items(body, "prompts")) != 0 {
			t.Fatalf("log-in after setting the questions: %v, want no prompt", body)
		}
	})
}

// J2's reset with a security question, through REST with real SMTP: the
// user sets a question after a fresh log-in; "forgot password" e-mails a
// link; the reset page shows the question (only now, with the link
// opened); the link alone is not enough; a wrong answer is a failed
// log-in (LoginFailed, RESET_ANSWERS); the right one, typed loosely, gives
// a ticket that sets the new password.
func TestJourney_ResetWithSecurityAnswer_WrongAnswerCounted(t *testing.T) {
	for _, pg := range []bool{true, false} {
		t.Run(map[bool]string{true: "postgres", false: "sqlite"}[pg], func(t *testing.T) {
			inst, srv := startWithSMTP(t, pg)
			op := client{t: t, base: inst.HTTPURL, token: inst.OperatorToken}
			anon := client{t: t, base: inst.HTTPURL}
			code, tenantID, admin := adminTenant(t, op, map[string]any{
				"recovery": map[string]any{"securityQuestions": true, "securityQuestionsRequired": 1},
				"lockout":  map[string]any{"maxFailedAttempts": 5, "lockoutMinutes": 15},
			})
			_, tokens := userWithPassword(t, admin, code, "anna", "Blue-Harbour-71")

			// Step 1: the question, right after the log-in.
			me := client{t: t, base: inst.HTTPURL, token: tokens["accessToken"].(string)}
			question := "Name of my first bike?"
			if st, body := me.do("PUT", "/v1/me/recovery/security-questions", map[string]any{"questions": []map[string]any{{"question": question, "answer": "Gazelle Champion"}}}); st != 200 {
				t.Fatalf("set the question: %d %v", st, body)
			}

			// Step 2: forgot password, the e-mailed link.
			if st, _ := anon.do("POST", "/v1/recovery/password-reset", map[string]any{"tenant": code, "login": "anna"}); st != 202 {
				t.Fatalf("forgot password: %d", st)
			}
			_, token, _ := linkMail(t, srv, 1, "anna@"+code+".example")

			// Step 3: the reset page asks the question.
			st, body := anon.do("POST", "/v1/recovery/password-reset:inspect", map[string]any{"token": token})
			if st != 200 || fmt.Sprint(items(body, "requires")) != "[SECURITY_ANSWERS]" || fmt.Sprint(items(body, "questions")) != "["+question+"]" {
				t.Fatalf("inspect: %d %v", st, body)
			}
			if st, body := anon.do("POST", "/v1/recovery/password-reset:complete", map[string]any{"token": token, "newPassword": "Green-Harbour-72"}); st != 400 || reasonOf(body) != "RESET_VERIFICATION_REQUIRED" {
				t.Fatalf("the link alone: %d %v", st, body)
			}

			// Step 4: a wrong answer counts as a failed log-in.
			answer := func(a string) (int, map[string]any) {
				return anon.do("POST", "/v1/recovery/password-reset:verify", map[string]any{"token": token, "answers": []map[string]any{{"question": question, "answer": a}}})
			}
			if st, body := answer("Batavus"); st != 401 || reasonOf(body) != "SECURITY_ANSWERS_INVALID" {
				t.Fatalf("wrong answer: %d %v", st, body)
			}
			testkit.Eventually(t, 10*time.Second, func() error {
				for _, m := range eventMessages(t, inst, tenantID, "latchkey.events.v1.session.login_failed") {
					if m.(*eventsv1.LoginFailed).GetReason() == "RESET_ANSWERS" {
						return nil
					}
				}
				return fmt.Errorf("no LoginFailed with reason RESET_ANSWERS")
			})

			// Step 5: the right answer, typed loosely, then the new password.
			st, body = answer("  gazelle   CHAMPION ")
			if st != 200 || body["resetTicket"] == nil {
				t.Fatalf("right answer: %d %v", st, body)
			}
			if st, body := anon.do("POST", "/v1/recovery/password-reset:complete", map[string]any{"resetTicket": body["resetTicket"], "newPassword": "Green-Harbour-72"}); st != 200 {
				t.Fatalf("complete with the ticket: %d %v", st, body)
			}
			if st, body := login(anon, code, "anna", "Green-Harbour-72"); st != 200 || body["accessToken"] == nil {
				t.Fatalf("log-in with the new password: %d %v", st, body)
			}
			testkit.Eventually(t, 10*time.Second, func() error {
				for _, m := range eventMessages(t, inst, tenantID, "latchkey.events.v1.recovery.password_reset_completed") {
					if fmt.Sprint(m.(*eventsv1.PasswordResetCompleted).GetVerifiedWith()) == "[SECURITY_ANSWERS]" {
						return nil
					}
				}
				return fmt.Errorf("no PasswordResetCompleted verified with SECURITY_ANSWERS")
			})
		})
	}
}

// A reset of an account with two-step verification needs a code (or a
// recovery code) besides the link, and never turns the factor off: a wrong
// code is a failed log-in (RESET_TOTP); a recovery code gives the ticket;
// the next log-in still asks for a code.
func TestJourney_ResetWithTOTP_RecoveryCodeWorks_FactorStaysOn(t *testing.T) {
	inst, srv := startWithSMTP(t, false)
	op := client{t: t, base: inst.HTTPURL, token: inst.OperatorToken}
	anon := client{t: t, base: inst.HTTPURL}
	code, tenantID, admin := adminTenant(t, op, nil)
	_, tokens := userWithPassword(t, admin, code, "kees", "Blue-Harbour-71")
	me := client{t: t, base: inst.HTTPURL, token: tokens["accessToken"].(string)}

	// Step 1: two-step verification on (the log-in is fresh enough).
	st, body := me.do("POST", "/v1/me/mfa/totp:enroll", map[string]any{})
	if st != 200 || body["secret"] == nil {
		t.Fatalf("enroll: %d %v", st, body)
	}
	st, body = me.do("POST", "/v1/me/mfa/totp:confirm", map[string]any{"code": totpAt(t, body["secret"].(string), time.Now())})
	if st != 200 || len(items(body, "recoveryCodes")) == 0 {
		t.Fatalf("confirm: %d %v", st, body)
	}
	recoveryCode := items(body, "recoveryCodes")[0].(string)

	// Step 2: forgot password; the link needs a code.
	if st, _ := anon.do("POST", "/v1/recovery/password-reset", map[string]any{"tenant": code, "login": "kees"}); st != 202 {
		t.Fatalf("forgot password: %d", st)
	}
	_, token, _ := linkMail(t, srv, 1, "kees@"+code+".example")
	st, body = anon.do("POST", "/v1/recovery/password-reset:inspect", map[string]any{"token": token})
	if st != 200 || fmt.Sprint(items(body, "requires")) != "[TOTP_CODE]" {
		t.Fatalf("inspect: %d %v", st, body)
	}

	// Step 3: a wrong code counts; a recovery code gives the ticket.
	if st, body := anon.do("POST", "/v1/recovery/password-reset:verify", map[string]any{"token": token, "totpCode": "000000"}); st != 401 || reasonOf(body) != "TOTP_CODE_INVALID" {
		t.Fatalf("wrong code: %d %v", st, body)
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		for _, m := range eventMessages(t, inst, tenantID, "latchkey.events.v1.session.login_failed") {
			if m.(*eventsv1.LoginFailed).GetReason() == "RESET_TOTP" {
				return nil
			}
		}
		return fmt.Errorf("no LoginFailed with reason RESET_TOTP")
	})
	st, body = anon.do("POST", "/v1/recovery/password-reset:verify", map[string]any{"token": token, "totpCode": recoveryCode})
	if st != 200 || body["resetTicket"] == nil {
		t.Fatalf("verify with a recovery code: %d %v", st, body)
	}
	if st, body := anon.do("POST", "/v1/recovery/password-reset:complete", map[string]any{"resetTicket": body["resetTicket"], "newPassword": "Green-Harbour-72"}); st != 200 {
		t.Fatalf("complete: %d %v", st, body)
	}

	// Step 4: the factor is still on: the log-in asks for the code.
	if st, body := login(anon, code, "kees", "Green-Harbour-72"); st != 200 || body["nextStep"] != "MFA" {
		t.Fatalf("log-in after the reset: %d %v, want the MFA step", st, body)
	}
}

// A locked account can still reset (the e-mail proves the inbox): a reset
// ends a lock after failed log-ins, never an administrator's.
func TestReset_EndsFailedAttemptsLockNotAdminLock(t *testing.T) {
	inst, srv := startWithSMTP(t, false)
	op := client{t: t, base: inst.HTTPURL, token: inst.OperatorToken}
	anon := client{t: t, base: inst.HTTPURL}
	code, _, admin := adminTenant(t, op, map[string]any{"lockout": map[string]any{"maxFailedAttempts": 3, "lockoutMinutes": 0}})
	mistyper, _ := userWithPassword(t, admin, code, "mistyper", "Blue-Harbour-71")
	locked, _ := userWithPassword(t, admin, code, "locked", "Blue-Harbour-71")
	for range 3 {
		login(anon, code, "mistyper", "wrong-guess")
	}
	if st, body := admin.do("POST", "/v1/admin/accounts/"+locked+":lock", map[string]any{"reason": "left the company"}); st != 200 {
		t.Fatalf("admin lock: %d %v", st, body)
	}
	reset := func(username, newPassword string) {
		t.Helper()
		if st, _ := anon.do("POST", "/v1/recovery/password-reset", map[string]any{"tenant": code, "login": username}); st != 202 {
			t.Fatalf("forgot password: %d", st)
		}
		_, token, _ := linkMail(t, srv, 1, username+"@"+code+".example")
		if st, body := anon.do("POST", "/v1/recovery/password-reset:complete", map[string]any{"token": token, "newPassword": newPassword}); st != 200 {
			t.Fatalf("reset of %s: %d %v", username, st, body)
		}
	}
	reset("mistyper", "Green-Harbour-72")
	if st, body := login(anon, code, "mistyper", "Green-Harbour-72"); st != 200 || body["accessToken"] == nil {
		t.Fatalf("log-in after the reset ended the failed-attempts lock: %d %v", st, body)
	}
	reset("locked", "Green-Harbour-72")
	if st, _ := login(anon, code, "locked", "Green-Harbour-72"); st != 401 {
		t.Fatalf("an administrator's lock after a reset: %d, want still locked", st)
	}
	_, body := admin.do("GET", "/v1/admin/accounts/"+locked, nil)
	_, body2 := admin.do("GET", "/v1/admin/accounts/"+mistyper, nil)
	if accountOf(body)["lockReason"] != "ADMIN" || accountOf(body2)["status"] != "ACTIVE" {
		t.Fatalf("after the resets: %v / %v", accountOf(body), accountOf(body2))
	}
}

// J4's way in: an invited (PENDING) account that asks for a password reset
// instead of using its activation link gets a reset link, and completing it
// sets the first password and activates the account; the activation link
// is void from then on.
func TestReset_OfPendingAccountActivatesIt(t *testing.T) {
	inst, srv := startWithSMTP(t, false)
	op := client{t: t, base: inst.HTTPURL, token: inst.OperatorToken}
	anon := client{t: t, base: inst.HTTPURL}
	code, _, admin := adminTenant(t, op, nil)
	email := "daan@" + code + ".example"
	st, body := admin.do("POST", "/v1/admin/accounts", map[string]any{"username": "daan", "email": email,
		"displayName": "Daan", "roles": []string{"CLIENT"}, "activation": "EMAIL_LINK"})
	if st != 200 {
		t.Fatalf("invite: %d %v", st, body)
	}
	id := accountOf(body)["id"].(string)
	kind, activation, _ := linkMail(t, srv, 1, email)
	if kind != "activate" {
		t.Fatalf("first e-mail: %s", kind)
	}
	if st, _ := anon.do("POST", "/v1/recovery/password-reset", map[string]any{"tenant": code, "login": email}); st != 202 {
		t.Fatalf("forgot password: %d", st)
	}
	kind, reset, _ := linkMail(t, srv, 2, email)
	if kind != "reset-password" {
		t.Fatalf("second e-mail: %s", kind)
	}
	if st, body := anon.do("POST", "/v1/recovery/password-reset:complete", map[string]any{"token": reset, "newPassword": "Blue-Harbour-71"}); st != 200 {
		t.Fatalf("complete: %d %v", st, body)
	}
	_, body = admin.do("GET", "/v1/admin/accounts/"+id, nil)
	if s := accountOf(body)["status"]; s != "ACTIVE" {
		t.Fatalf("after the reset the account is %v, want ACTIVE", s)
	}
	if st, body := login(anon, code, "daan", "Blue-Harbour-71"); st != 200 || body["accessToken"] == nil {
		t.Fatalf("log-in: %d %v", st, body)
	}
	if st, body := anon.do("POST", "/v1/recovery/activation:complete", map[string]any{"token": activation, "newPassword": "Green-Harbour-72"}); st != 401 {
		t.Fatalf("the activation link after the reset: %d %v", st, body)
	}
}
