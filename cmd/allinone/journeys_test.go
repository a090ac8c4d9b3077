package allinone_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/cmd/allinone"
	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/natsauth"
	"github.com/latchkey/latchkey/libs/natsx"
	"github.com/latchkey/latchkey/libs/natsx/embedded"
	"github.com/latchkey/latchkey/libs/testkit"
	"github.com/latchkey/latchkey/libs/testkit/qr"
	"github.com/latchkey/latchkey/libs/testkit/smtptest"
	credentialv1 "github.com/latchkey/latchkey/proto/gen/latchkey/credential/v1"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
)

// The four journeys of JOURNEYS.md through REST, with every service
// running, e-mail delivered over SMTP to a test server, links taken from
// the e-mails as a user would click them, and TOTP codes computed by
// totpAt below (RFC 6238 written out here, not the library the mfa
// service uses). Each step is a t.Run named after the journey's step, so
// a failure says where the user got stuck.

// journey is one suite whose e-mail goes over SMTP to mail, with a clock
// the test moves (TOTP steps, expiry).
type journey struct {
	t    *testing.T
	inst *allinone.Instance
	clk  *clock.Fake
	mail *smtptest.Server
	op   client
	anon client
	read map[int]bool
	// subscriberSeed reads the events on a NATS with authentication.
	subscriberSeed string
}

func startJourney(t *testing.T, pg bool) *journey {
	t.Helper()
	return startJourneyOn(t, pg, false)
}

// startJourneyOn starts a journey's suite; with natsAuth, on a NATS of
// its own that admits only the users `latchkey nats-auth` writes, each
// service connecting as its own with only its permissions (a suite that
// gets through a journey so proves the permission table complete).
func startJourneyOn(t *testing.T, pg, natsAuth bool) *journey {
	t.Helper()
	srv := smtptest.Start(t, smtptest.Options{})
	// Stepping: a password change and a link asked for after it never
	// share a time (the link would count as older than the change and be
	// voided by it, as on no real clock).
	clk := clock.NewStepping(time.Now(), time.Microsecond)
	cfg := allinone.Config{Edge: loopbackEdge, DataDir: t.TempDir(), Clock: clk, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if !natsAuth {
		// Names of its own on NATS: suites beside it on a shared NATS
		// (CI's) neither join its durable consumers nor see its events.
		nats := testkit.NATS(t)
		cfg.NATSURL, cfg.NATSNames = nats.URL, nats.Names(t)
	} else {
		cfg.NATSNames, cfg.NATSNKeyDir = natsx.Names{Prefix: "acme"}, t.TempDir()
		if _, err := natsauth.WriteFiles(cfg.NATSNKeyDir, cfg.NATSNames); err != nil {
			t.Fatal(err)
		}
		ns, err := embedded.Start(embedded.Options{Port: -1, StoreDir: t.TempDir(),
			AuthFile: filepath.Join(cfg.NATSNKeyDir, natsauth.ConfigFileName)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(ns.Shutdown)
		cfg.NATSURL = ns.ClientURL()
	}
	cfg.Notification.SMTPURL = "smtp://" + srv.Addr
	inst := startWithConfig(t, pg, cfg)
	j := &journey{t: t, inst: inst, clk: clk, mail: srv, read: map[int]bool{},
		op: client{t: t, base: inst.HTTPURL, token: inst.OperatorToken}, anon: client{t: t, base: inst.HTTPURL}}
	if natsAuth {
		j.subscriberSeed = natsauth.SeedFile(cfg.NATSNKeyDir, natsauth.Subscriber)
	}
	return j
}

// eachJourneyStore runs fn on PostgreSQL and on SQLite, and once more on
// SQLite with every service confined to its NATS permissions.
func eachJourneyStore(t *testing.T, fn func(j *journey)) {
	for _, v := range []struct {
		name         string
		pg, natsAuth bool
	}{{"postgres", true, false}, {"sqlite", false, false}, {"sqlite_nats_auth", false, true}} {
		t.Run(v.name, func(t *testing.T) {
			fn(startJourneyOn(t, v.pg, v.natsAuth))
		})
	}
}

// as is a client of the same suite with token.
func (j *journey) as(token any) client {
	s, _ := token.(string)
	return client{t: j.t, base: j.inst.HTTPURL, token: s}
}

// newTenant creates a tenant with policy and a first admin (username
// adminUser, e-mail adminEmail, a temporary password) and returns its code.
func (j *journey) newTenant(prefix string, policy map[string]any, adminUser, adminEmail string) string {
	j.t.Helper()
	code := uniqueCode(j.t, prefix)
	st, body := j.op.do("POST", "/v1/tenants", map[string]any{"code": code, "name": "Tenant " + code, "policy": policy,
		"firstAdmin": map[string]any{"username": adminUser, "email": adminEmail, "displayName": "First Admin",
			"activation": "TEMPORARY_PASSWORD", "temporaryPassword": "Temporary-Pass-2026"}})
	if st != 200 {
		j.t.Fatalf("create tenant: %d %v", st, body)
	}
	return code
}

// adminPassword is what the first admin's first log-in sets.
const adminPassword = "Much-Better-Pass-12"

// firstLogin signs the first admin in with the temporary password and
// replaces it; it returns what follows (tokens, or ENROLL_MFA).
func (j *journey) firstLogin(code, adminUser string) map[string]any {
	j.t.Helper()
	_, body := login(j.anon, code, adminUser, "Temporary-Pass-2026")
	st, body := j.anon.do("POST", "/v1/auth/login:continue", map[string]any{"loginTicket": body["loginTicket"], "newPassword": adminPassword})
	if st != 200 {
		j.t.Fatalf("first admin's first log-in: %d %v", st, body)
	}
	return body
}

// tenant creates a tenant with policy and a first admin, signs the admin
// in once (enrolling a second factor where the tenant requires one), and
// returns the code and the admin's client.
func (j *journey) tenant(prefix string, policy map[string]any, adminUser, adminEmail string) (string, client) {
	j.t.Helper()
	code := j.newTenant(prefix, policy, adminUser, adminEmail)
	body := j.firstLogin(code, adminUser)
	if body["nextStep"] == "ENROLL_MFA" {
		st, started := j.anon.do("POST", "/v1/auth/login:continue", map[string]any{"loginTicket": body["loginTicket"], "startTotpEnrollment": true})
		if st != 200 {
			j.t.Fatalf("admin starts the enrolment: %d %v", st, started)
		}
		secret := secretOf(j.t, started["totpEnrollment"].(map[string]any)["otpauthUri"].(string))
		st, body = j.anon.do("POST", "/v1/auth/login:continue", map[string]any{"loginTicket": started["loginTicket"], "totpCode": j.code(secret)})
		if st != 200 {
			j.t.Fatalf("admin's first code: %d %v", st, body)
		}
	}
	if body["accessToken"] == nil {
		j.t.Fatalf("first admin's first log-in: %v, want tokens", body)
	}
	return code, j.as(body["accessToken"])
}

// mailTo waits for a message to addr, not read before, whose subject
// contains subject, and returns it taken apart.
func (j *journey) mailTo(addr, subject string) *smtptest.Parsed {
	j.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		for i, m := range j.mail.Messages() {
			if j.read[i] || !slices.Contains(m.To, addr) {
				continue
			}
			if p := smtptest.Parse(j.t, m); strings.Contains(p.Subject(), subject) {
				j.read[i] = true
				return p
			}
		}
		if time.Now().After(deadline) {
			j.t.Fatalf("no e-mail to %s with %q in its subject after 20s (%d messages in all)", addr, subject, len(j.mail.Messages()))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// noMailTo checks for a while that nothing more comes to addr.
func (j *journey) noMailTo(addr string) {
	j.t.Helper()
	testkit.Consistently(j.t, 500*time.Millisecond, func() error {
		for i, m := range j.mail.Messages() {
			if !j.read[i] && slices.Contains(m.To, addr) {
				return fmt.Errorf("unexpected e-mail to %s: %q", addr, smtptest.Parse(j.t, m).Subject())
			}
		}
		return nil
	})
}

var linkToken = regexp.MustCompile(`/ui/(activate|reset-password)\?token=([A-Za-z0-9_\-]+)`)

// tokenIn returns the token of the link to page (activate or
// reset-password) in an e-mail's text.
func tokenIn(t *testing.T, m *smtptest.Parsed, page string) string {
	t.Helper()
	for _, g := range linkToken.FindAllStringSubmatch(m.Text, -1) {
		if g[1] == page {
			return g[2]
		}
	}
	t.Fatalf("no /ui/%s link in the e-mail:\n%s", page, m.Text)
	return ""
}

// totpAt is the RFC 6238 code (SHA-1, 30 s, 6 digits) of a base32 secret
// at a time: written out here, independent of the service's library.
func totpAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.TrimRight(strings.ToUpper(strings.ReplaceAll(secret, " ", "")), "="))
	if err != nil {
		t.Fatalf("TOTP secret %q is no base32: %v", secret, err)
	}
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(at.Unix()/30))
	mac := hmac.New(sha1.New, key)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	return fmt.Sprintf("%06d", (binary.BigEndian.Uint32(sum[off:off+4])&0x7fffffff)%1_000_000)
}

// code moves the clock to the next 30-second step and returns its code:
// every code a test gives is of a step later than the last one accepted.
func (j *journey) code(secret string) string {
	j.t.Helper()
	j.clk.Advance(30 * time.Second)
	return totpAt(j.t, secret, j.clk.Now())
}

// secretOf reads the secret of an otpauth:// URI.
func secretOf(t *testing.T, uri string) string {
	t.Helper()
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "otpauth" || u.Query().Get("secret") == "" {
		t.Fatalf("not an otpauth URI with a secret: %q", uri)
	}
	return u.Query().Get("secret")
}

// step runs one named step of a journey; a failed step ends the journey.
func step(t *testing.T, name string, fn func(t *testing.T)) {
	t.Helper()
	if !t.Run(name, fn) {
		t.FailNow()
	}
}

func wantStatus(t *testing.T, what string, st int, body map[string]any, want int) {
	t.Helper()
	if st != want {
		t.Fatalf("%s: %d %v, want %d", what, st, body, want)
	}
}

// J1 — invited staff, one identity everywhere. Username = e-mail;
// security questions after activation.
func TestJourneyJ1_InvitedStaff(t *testing.T) {
	eachJourneyStore(t, func(j *journey) {
		t := j.t
		code, admin := j.tenant("hometrak", map[string]any{"usernameIsEmail": true, "brandName": "Hometrak",
			"recovery": map[string]any{"emailLink": true, "securityQuestions": true, "securityQuestionsRequired": 2}},
			"office@hometrak.example", "office@hometrak.example")
		staff := "anna.jansen@hometrak.example"
		questions := []map[string]any{
			{"question": "Name of my first teacher?", "answer": "Mevrouw  de Groot"},
			{"question": "Street I grew up in?", "answer": "Kerkstraat"},
		}
		var token, password string

		step(t, "1 the admin creates the account; a username that is not the e-mail is refused", func(t *testing.T) {
			st, body := admin.do("POST", "/v1/admin/accounts", map[string]any{"username": "anna", "email": staff,
				"displayName": "Anna Jansen", "roles": []string{"USER"}, "activation": "EMAIL_LINK"})
			if st != 400 || !slices.Contains(fieldViolations(body), "username") {
				t.Fatalf("username ≠ e-mail: %d %v, want 400 naming username", st, body)
			}
			st, body = admin.do("POST", "/v1/admin/accounts", map[string]any{"username": staff, "email": staff,
				"displayName": "Anna Jansen", "roles": []string{"USER"}, "activation": "EMAIL_LINK"})
			wantStatus(t, "create", st, body, 200)
			if s := accountOf(body)["status"]; s != "PENDING" {
				t.Fatalf("invited account is %v, want PENDING", s)
			}
		})
		step(t, "2 an imported account without its old hash gets an activation e-mail too", func(t *testing.T) {
			st, body := admin.do("POST", "/v1/admin/accounts:import", map[string]any{"accounts": []map[string]any{
				{"username": "piet@hometrak.example", "email": "piet@hometrak.example", "displayName": "Piet", "roles": []string{"USER"}}}})
			wantStatus(t, "import", st, body, 200)
			j.mailTo("piet@hometrak.example", "Activate")
		})
		step(t, "3 the activation e-mail has a link and the company code", func(t *testing.T) {
			m := j.mailTo(staff, "Activate your Hometrak account")
			if !strings.Contains(m.Text, code) {
				t.Fatalf("no company code %q in:\n%s", code, m.Text)
			}
			token = tokenIn(t, m, "activate")
		})
		step(t, "4 the link sets the password (policy enforced), then leads to the log-in", func(t *testing.T) {
			st, body := j.anon.do("POST", "/v1/recovery/activation:complete", map[string]any{"token": token, "newPassword": "short"})
			if st != 400 || !slices.Contains(fieldViolations(body), "newPassword") {
				t.Fatalf("weak password: %d %v, want 400 naming newPassword", st, body)
			}
			password = "Voorjaar-In-Utrecht-26"
			st, body = j.anon.do("POST", "/v1/recovery/activation:complete", map[string]any{"token": token, "newPassword": password})
			wantStatus(t, "activate", st, body, 200)
			if body["tenantCode"] != code || body["username"] != staff {
				t.Fatalf("activation answer %v, want the company code and username for the log-in page", body)
			}
			st, body = j.anon.do("POST", "/v1/recovery/activation:complete", map[string]any{"token": token, "newPassword": "Another-Password-77"})
			if st < 400 || st >= 500 {
				t.Fatalf("the link a second time: %d %v, want it refused", st, body)
			}
		})
		var access string
		step(t, "5 the first log-in asks for security questions; they are saved", func(t *testing.T) {
			st, body := login(j.anon, code, staff, password)
			wantStatus(t, "log-in", st, body, 200)
			if fmt.Sprint(body["prompts"]) != "[SET_RECOVERY_INFO]" {
				t.Fatalf("prompts %v, want SET_RECOVERY_INFO", body["prompts"])
			}
			me := j.as(body["accessToken"])
			st, body = me.do("PUT", "/v1/me/recovery/security-questions", map[string]any{"questions": questions[:1]})
			if st != 400 {
				t.Fatalf("one question where two are required: %d %v", st, body)
			}
			st, body = me.do("PUT", "/v1/me/recovery/security-questions", map[string]any{"questions": questions})
			wantStatus(t, "set questions (a fresh log-in counts as recent)", st, body, 200)
			st, body = login(j.anon, code, staff, password)
			if st != 200 || len(items(body, "prompts")) != 0 {
				t.Fatalf("log-in after setting them: %d %v, want no prompt", st, body)
			}
			access = body["accessToken"].(string)
			st, body = j.as(access).do("GET", "/v1/me/recovery", nil)
			if st != 200 || body["securityQuestionsSet"] != true {
				t.Fatalf("GET /v1/me/recovery: %d %v", st, body)
			}
		})
		step(t, "6 the same username and password over gRPC", func(t *testing.T) {
			resp, err := credentialv1.NewAuthServiceClient(grpcConn(t, j.inst.GRPCAddr)).Login(context.Background(),
				&credentialv1.LoginRequest{Tenant: code, Username: staff, Password: password})
			if err != nil || resp.GetAccessToken() == "" {
				t.Fatalf("gRPC log-in: %v %v", resp, err)
			}
		})
		step(t, "7 the user changes the password without calling the office", func(t *testing.T) {
			st, body := j.as(access).do("POST", "/v1/me/password", map[string]any{"currentPassword": password, "newPassword": "Zomer-In-Utrecht-27"})
			wantStatus(t, "change password", st, body, 200)
			password = "Zomer-In-Utrecht-27"
		})
		step(t, "8 forgot password: link, then the questions, then a new password", func(t *testing.T) {
			st, body := j.anon.do("POST", "/v1/recovery/password-reset", map[string]any{"tenant": code, "login": staff})
			wantStatus(t, "ask for a link", st, body, 202)
			reset := tokenIn(t, j.mailTo(staff, "Reset your Hometrak password"), "reset-password")
			st, body = j.anon.do("POST", "/v1/recovery/password-reset:inspect", map[string]any{"token": reset})
			wantStatus(t, "inspect", st, body, 200)
			if fmt.Sprint(body["requires"]) != "[SECURITY_ANSWERS]" || len(items(body, "questions")) != 2 {
				t.Fatalf("inspect %v, want the two questions", body)
			}
			st, body = j.anon.do("POST", "/v1/recovery/password-reset:verify", map[string]any{"token": reset,
				"answers": []map[string]any{{"question": questions[0]["question"], "answer": "someone else"}, {"question": questions[1]["question"], "answer": "Kerkstraat"}}})
			if st < 400 || st >= 500 {
				t.Fatalf("a wrong answer: %d %v, want it refused", st, body)
			}
			// Case and spaces do not matter.
			st, body = j.anon.do("POST", "/v1/recovery/password-reset:verify", map[string]any{"token": reset,
				"answers": []map[string]any{{"question": questions[0]["question"], "answer": " mevrouw de groot "}, {"question": questions[1]["question"], "answer": "KERKSTRAAT"}}})
			wantStatus(t, "right answers", st, body, 200)
			st, body = j.anon.do("POST", "/v1/recovery/password-reset:complete", map[string]any{"resetTicket": body["resetTicket"], "newPassword": "Herfst-In-Utrecht-28"})
			wantStatus(t, "new password", st, body, 200)
			if st, _ := login(j.anon, code, staff, password); st != 401 {
				t.Fatalf("old password after the reset: %d, want 401", st)
			}
			if st, body := login(j.anon, code, staff, "Herfst-In-Utrecht-28"); st != 200 || body["accessToken"] == nil {
				t.Fatalf("new password: %d %v", st, body)
			}
		})
	})
}

// J2 — helpdesk account under a strict policy: terms, the temporary
// password, the recovery prompt, step-up then 2-step verification, and
// forgot password through the link and the question, wrong answers
// counted.
func TestJourneyJ2_HelpdeskStrictPolicy(t *testing.T) {
	eachJourneyStore(t, func(j *journey) {
		t := j.t
		code, admin := j.tenant("eshc", map[string]any{
			"brandName":          "Clienttrack",
			"password":           map[string]any{"minLength": 8, "minUppercase": 1, "minDigits": 1, "minSymbols": 1, "maxAgeDays": 90, "historyCount": 6},
			"lockout":            map[string]any{"maxFailedAttempts": 5, "lockoutMinutes": 0},
			"inactivityLockDays": 10, "termsRequired": true,
			"recovery": map[string]any{"emailLink": true, "securityQuestions": true, "securityQuestionsRequired": 1},
		}, "admin", "admin@eshc.example")
		_, tenantBody := admin.do("GET", "/v1/admin/tenant", nil)
		tenantID := tenantBody["tenant"].(map[string]any)["id"].(string)
		user, email := "m.devries", "m.devries@eshc.example"
		password := "Tulpen&Molens7"
		var secret, access string

		step(t, "1 the helpdesk creates the account with a temporary password", func(t *testing.T) {
			st, body := admin.do("POST", "/v1/admin/tenant/terms", map[string]any{"version": "2026-12", "text": "Terms of use"})
			wantStatus(t, "publish terms", st, body, 200)
			st, body = admin.do("POST", "/v1/admin/accounts", map[string]any{"username": user, "email": email,
				"displayName": "Marije de Vries", "roles": []string{"USER"}, "activation": "TEMPORARY_PASSWORD", "temporaryPassword": "Welcome!2026x"})
			wantStatus(t, "create", st, body, 200)
		})
		step(t, "2 first log-in: the terms, then a new password", func(t *testing.T) {
			st, body := login(j.anon, code, user, "Welcome!2026x")
			if st != 200 || body["nextStep"] != "ACCEPT_TERMS" {
				t.Fatalf("first log-in: %d %v, want ACCEPT_TERMS", st, body)
			}
			st, body = j.anon.do("POST", "/v1/auth/login:continue", map[string]any{"loginTicket": body["loginTicket"], "acceptTermsVersion": "2026-12"})
			if st != 200 || body["nextStep"] != "CHANGE_PASSWORD" {
				t.Fatalf("after the terms: %d %v, want CHANGE_PASSWORD", st, body)
			}
			ticket := body["loginTicket"]
			st, body = j.anon.do("POST", "/v1/auth/login:continue", map[string]any{"loginTicket": ticket, "newPassword": "alllowercase"})
			wantStatus(t, "weak password", st, body, 400)
			st, body = j.anon.do("POST", "/v1/auth/login:continue", map[string]any{"loginTicket": ticket, "newPassword": password})
			if st != 200 || body["accessToken"] == nil {
				t.Fatalf("new password (same ticket after a refusal): %d %v", st, body)
			}
		})
		step(t, "3 every log-in carries the prompt until a question is set", func(t *testing.T) {
			st, body := login(j.anon, code, user, password)
			if st != 200 || fmt.Sprint(body["prompts"]) != "[SET_RECOVERY_INFO]" {
				t.Fatalf("log-in: %d %v, want SET_RECOVERY_INFO", st, body)
			}
			me := j.as(body["accessToken"])
			st, body = me.do("GET", "/v1/me", nil)
			if sec, _ := body["security"].(map[string]any); st != 200 || sec == nil || sec["recoveryInfoSet"] == true {
				t.Fatalf("GET /v1/me before: %d %v", st, body)
			}
			st, body = me.do("PUT", "/v1/me/recovery/security-questions", map[string]any{"questions": []map[string]any{
				{"question": "Naam van mijn eerste huisdier?", "answer": "Bello"}}})
			wantStatus(t, "set the question", st, body, 200)
			st, body = login(j.anon, code, user, password)
			if st != 200 || len(items(body, "prompts")) != 0 {
				t.Fatalf("log-in after: %d %v, want no prompt", st, body)
			}
			access = body["accessToken"].(string)
		})
		step(t, "4 security settings ask the password again; then 2-step verification", func(t *testing.T) {
			// The log-in of access is now older than five minutes.
			j.clk.Advance(6 * time.Minute)
			stale := j.as(access)
			if st, body := stale.do("POST", "/v1/me/mfa/totp:enroll", map[string]any{}); st != 401 && st != 403 || reasonOf(body) != "REAUTHENTICATION_REQUIRED" {
				t.Fatalf("enrol without a fresh password: %d %v, want REAUTHENTICATION_REQUIRED", st, body)
			}
			st, body := stale.do("POST", "/v1/auth/reauth", map[string]any{"password": password})
			wantStatus(t, "reauth", st, body, 200)
			fresh := j.as(body["accessToken"])
			st, body = fresh.do("POST", "/v1/me/mfa/totp:enroll", map[string]any{})
			wantStatus(t, "enrol", st, body, 200)
			secret = body["secret"].(string)
			if secretOf(t, body["otpauthUri"].(string)) != strings.ReplaceAll(secret, " ", "") {
				t.Fatalf("URI %v and secret %v differ", body["otpauthUri"], secret)
			}
			st, body = fresh.do("POST", "/v1/me/mfa/totp:confirm", map[string]any{"code": "000000"})
			if st < 400 || st >= 500 {
				t.Fatalf("wrong first code: %d %v", st, body)
			}
			st, body = fresh.do("POST", "/v1/me/mfa/totp:confirm", map[string]any{"code": j.code(secret)})
			wantStatus(t, "confirm", st, body, 200)
			if n := len(items(body, "recoveryCodes")); n != 10 {
				t.Fatalf("%d recovery codes, want 10", n)
			}
			st, body = login(j.anon, code, user, password)
			if st != 200 || body["nextStep"] != "MFA" {
				t.Fatalf("log-in with TOTP on: %d %v, want MFA", st, body)
			}
			st, body = j.anon.do("POST", "/v1/auth/login:continue", map[string]any{"loginTicket": body["loginTicket"], "totpCode": j.code(secret)})
			if st != 200 || body["accessToken"] == nil {
				t.Fatalf("the code: %d %v", st, body)
			}
			access = body["accessToken"].(string)
			if st, body := j.as(access).do("GET", "/v1/me", nil); st != 200 || body["security"].(map[string]any)["totpEnabled"] != true {
				t.Fatalf("GET /v1/me: %d %v, want totpEnabled", st, body)
			}
		})
		step(t, "7 forgot password: the link, the code and the question, then a new password; wrong answers count", func(t *testing.T) {
			st, body := j.anon.do("POST", "/v1/recovery/password-reset", map[string]any{"tenant": code, "login": email})
			wantStatus(t, "ask for a link", st, body, 202)
			reset := tokenIn(t, j.mailTo(email, "Reset your Clienttrack password"), "reset-password")
			st, body = j.anon.do("POST", "/v1/recovery/password-reset:inspect", map[string]any{"token": reset})
			wantStatus(t, "inspect", st, body, 200)
			req := items(body, "requires")
			if !slices.Contains(req, any("TOTP_CODE")) || !slices.Contains(req, any("SECURITY_ANSWERS")) || fmt.Sprint(body["questions"]) != "[Naam van mijn eerste huisdier?]" {
				t.Fatalf("inspect %v, want the code and the question", body)
			}
			st, body = j.anon.do("POST", "/v1/recovery/password-reset:verify", map[string]any{"token": reset, "totpCode": j.code(secret),
				"answers": []map[string]any{{"question": "Naam van mijn eerste huisdier?", "answer": "Rex"}}})
			if st < 400 || st >= 500 {
				t.Fatalf("wrong answer: %d %v", st, body)
			}
			testkit.WaitEvents(t, j.inst.NATSURL, testkit.EventQuery{TenantID: tenantID, Subject: "latchkey.events.v1.session.login_failed", Names: j.inst.NATSNames, NKeyFile: j.subscriberSeed}, func(evs []testkit.Event) bool {
				for _, e := range evs {
					if f, ok := e.Message.(*eventsv1.LoginFailed); ok && f.GetReason() == "RESET_ANSWERS" {
						return true
					}
				}
				return false
			})
			st, body = j.anon.do("POST", "/v1/recovery/password-reset:verify", map[string]any{"token": reset, "totpCode": j.code(secret),
				"answers": []map[string]any{{"question": "Naam van mijn eerste huisdier?", "answer": "bello"}}})
			wantStatus(t, "right code and answer", st, body, 200)
			st, body = j.anon.do("POST", "/v1/recovery/password-reset:complete", map[string]any{"resetTicket": body["resetTicket"], "newPassword": "Nieuw&Wachtwoord8"})
			wantStatus(t, "new password", st, body, 200)
			st, body = login(j.anon, code, user, "Nieuw&Wachtwoord8")
			if st != 200 || body["nextStep"] != "MFA" {
				t.Fatalf("log-in after the reset: %d %v, want MFA (a reset never turns it off)", st, body)
			}
		})
	})
}

// J3 — administrators and self-service: an admin sends a reset, a user
// asks for one, a portal contact (CLIENT) resets by e-mail, and two
// contacts may not share an address.
func TestJourneyJ3_AdminAndSelfServiceResets(t *testing.T) {
	eachJourneyStore(t, func(j *journey) {
		t := j.t
		code, admin := j.tenant("timetrak", map[string]any{"brandName": "Timetrak"}, "admin", "admin@timetrak.example")
		userID, _ := userWithPassword(t, admin, code, "kees", "Gouden-Tulp-2026")
		step(t, "1 the admin sends a reset link; the user sets a new password", func(t *testing.T) {
			st, body := admin.do("POST", "/v1/admin/accounts/"+userID+":sendPasswordReset", map[string]any{})
			wantStatus(t, "send reset", st, body, 200)
			reset := tokenIn(t, j.mailTo("kees@"+code+".example", "Reset your Timetrak password"), "reset-password")
			st, body = j.anon.do("POST", "/v1/recovery/password-reset:inspect", map[string]any{"token": reset})
			if st != 200 || len(items(body, "requires")) != 0 {
				t.Fatalf("inspect: %d %v, want nothing more than the link", st, body)
			}
			st, body = j.anon.do("POST", "/v1/recovery/password-reset:complete", map[string]any{"token": reset, "newPassword": "Zilveren-Molen-2027"})
			wantStatus(t, "complete", st, body, 200)
			if body["tenantCode"] != code {
				t.Fatalf("answer %v, want the company code", body)
			}
			if st, _ := login(j.anon, code, "kees", "Zilveren-Molen-2027"); st != 200 {
				t.Fatalf("log-in with the new password: %d", st)
			}
		})
		step(t, "3 a user who forgot it asks for the link", func(t *testing.T) {
			st, body := j.anon.do("POST", "/v1/recovery/password-reset", map[string]any{"tenant": code, "login": "kees"})
			wantStatus(t, "ask", st, body, 202)
			reset := tokenIn(t, j.mailTo("kees@"+code+".example", "Reset"), "reset-password")
			st, body = j.anon.do("POST", "/v1/recovery/password-reset:complete", map[string]any{"token": reset, "newPassword": "Bronzen-Brug-2028"})
			wantStatus(t, "complete", st, body, 200)
			st, body = j.anon.do("POST", "/v1/recovery/password-reset:complete", map[string]any{"token": reset, "newPassword": "Houten-Klomp-2029"})
			if st < 400 || st >= 500 {
				t.Fatalf("the link twice: %d %v", st, body)
			}
		})
		step(t, "5 portal contacts reset by e-mail; two may not share an address", func(t *testing.T) {
			st, body := admin.do("POST", "/v1/admin/accounts", map[string]any{"username": "client.one", "email": "portal@client.example",
				"displayName": "Client One", "roles": []string{"CLIENT"}, "activation": "EMAIL_LINK"})
			wantStatus(t, "invite a contact", st, body, 200)
			st, body = admin.do("POST", "/v1/admin/accounts", map[string]any{"username": "client.two", "email": "portal@client.example",
				"displayName": "Client Two", "roles": []string{"CLIENT"}, "activation": "EMAIL_LINK"})
			if st != 409 && st != 400 {
				t.Fatalf("a second contact with the same e-mail: %d %v, want it refused", st, body)
			}
			activation := tokenIn(t, j.mailTo("portal@client.example", "Activate"), "activate")
			st, body = j.anon.do("POST", "/v1/recovery/activation:complete", map[string]any{"token": activation, "newPassword": "Harbour-Tulip-2026"})
			wantStatus(t, "activate", st, body, 200)
			st, body = j.anon.do("POST", "/v1/recovery/password-reset", map[string]any{"tenant": code, "login": "portal@client.example"})
			wantStatus(t, "ask by e-mail address", st, body, 202)
			reset := tokenIn(t, j.mailTo("portal@client.example", "Reset"), "reset-password")
			st, body = j.anon.do("POST", "/v1/recovery/password-reset:complete", map[string]any{"token": reset, "newPassword": "Harbour-Tulip-2027"})
			wantStatus(t, "complete", st, body, 200)
			if st, _ := login(j.anon, code, "client.one", "Harbour-Tulip-2027"); st != 200 {
				t.Fatalf("contact's log-in: %d", st)
			}
		})
	})
}

// J4 — key, password and code: the key by e-mail (QR), then the password
// link (which activates a new account), the code before the password, and
// log-in with a code; one step of clock skew works, a used code does not.
func TestJourneyJ4_KeyThenPasswordThenCode(t *testing.T) {
	eachJourneyStore(t, func(j *journey) {
		t := j.t
		code, admin := j.tenant("track", map[string]any{"brandName": "Track Portal",
			"password": map[string]any{"minLength": 8, "minUppercase": 2, "minDigits": 2},
			"mfa":      map[string]any{"required": true, "allowedSkewSteps": 1},
			"recovery": map[string]any{"emailLink": true, "resetRequiresMfa": true}}, "admin", "admin@track.example")
		user, email := "d.bakker", "d.bakker@track.example"
		var secret, password string
		st, body := admin.do("POST", "/v1/admin/accounts", map[string]any{"username": user, "email": email,
			"displayName": "Daan Bakker", "roles": []string{"CLIENT"}, "activation": "EMAIL_LINK"})
		wantStatus(t, "create", st, body, 200)
		id := accountOf(body)["id"].(string)
		j.mailTo(email, "Activate") // J4's user takes the other way in

		step(t, "1 the key by e-mail, as a QR code and as text", func(t *testing.T) {
			st, body := j.anon.do("POST", "/v1/mfa/key-requests", map[string]any{"tenant": code, "login": user})
			wantStatus(t, "ask for the key", st, body, 202)
			m := j.mailTo(email, "authenticator key")
			png := m.Images["qr.png"]
			if png == nil {
				t.Fatalf("no inline QR code (images %d)", len(m.Images))
			}
			uri := qr.Decode(t, png)
			secret = secretOf(t, uri)
			if !strings.Contains(strings.ReplaceAll(m.Text, " ", ""), secret) {
				t.Fatalf("the key as text is not the QR code's %s:\n%s", secret, m.Text)
			}
			if u, _ := url.Parse(uri); !strings.Contains(u.Path, user) || u.Query().Get("issuer") != "Track Portal" {
				t.Fatalf("otpauth URI %s: want the brand as issuer and the username", uri)
			}
		})
		var reset string
		step(t, "2 the password link arrives in a second e-mail", func(t *testing.T) {
			st, body := j.anon.do("POST", "/v1/recovery/password-reset", map[string]any{"tenant": code, "login": email})
			wantStatus(t, "ask for a link", st, body, 202)
			reset = tokenIn(t, j.mailTo(email, "Reset your Track Portal password"), "reset-password")
		})
		step(t, "3 the link's page asks the code first, then the new password twice", func(t *testing.T) {
			st, body := j.anon.do("POST", "/v1/recovery/password-reset:inspect", map[string]any{"token": reset})
			if st != 200 || fmt.Sprint(body["requires"]) != "[TOTP_CODE]" {
				t.Fatalf("inspect: %d %v, want TOTP_CODE", st, body)
			}
			if r, _ := body["passwordRules"].(map[string]any); r["minUppercase"] != float64(2) || r["minDigits"] != float64(2) {
				t.Fatalf("password rules %v, want two uppercase and two digits", body["passwordRules"])
			}
			st, body = j.anon.do("POST", "/v1/recovery/password-reset:complete", map[string]any{"token": reset, "newPassword": "TWo-Digits-12"})
			if st < 400 || st >= 500 {
				t.Fatalf("the token alone where a code is required: %d %v", st, body)
			}
			st, body = j.anon.do("POST", "/v1/recovery/password-reset:verify", map[string]any{"token": reset, "totpCode": j.code(secret)})
			wantStatus(t, "the code", st, body, 200)
			ticket := body["resetTicket"]
			st, body = j.anon.do("POST", "/v1/recovery/password-reset:complete", map[string]any{"resetTicket": ticket, "newPassword": "Onlyone-upper-12"})
			if st != 400 {
				t.Fatalf("one uppercase letter: %d %v, want 400", st, body)
			}
			password = "Two-Uppers-In-Here-12"
			st, body = j.anon.do("POST", "/v1/recovery/password-reset:complete", map[string]any{"resetTicket": ticket, "newPassword": password})
			wantStatus(t, "the password (same ticket after a refusal)", st, body, 200)
			_, body = admin.do("GET", "/v1/admin/accounts/"+id, nil)
			if s := accountOf(body)["status"]; s != "ACTIVE" {
				t.Fatalf("account after the first password: %v, want ACTIVE", s)
			}
		})
		step(t, "4 log-in takes the password and the current code; skew one step works, a used code does not", func(t *testing.T) {
			st, body := login(j.anon, code, user, password)
			if st != 200 || body["nextStep"] != "MFA" {
				t.Fatalf("log-in: %d %v, want MFA", st, body)
			}
			used := j.code(secret)
			st, body = j.anon.do("POST", "/v1/auth/login:continue", map[string]any{"loginTicket": body["loginTicket"], "totpCode": used})
			if st != 200 || body["accessToken"] == nil {
				t.Fatalf("the code: %d %v", st, body)
			}
			_, body = login(j.anon, code, user, password)
			st, body = j.anon.do("POST", "/v1/auth/login:continue", map[string]any{"loginTicket": body["loginTicket"], "totpCode": used})
			if st != 401 {
				t.Fatalf("the used code again: %d %v, want 401", st, body)
			}
			// The phone's clock one step behind: the code of the step before now.
			j.clk.Advance(60 * time.Second)
			_, body = login(j.anon, code, user, password)
			behind := totpAt(t, secret, j.clk.Now().Add(-30*time.Second))
			st, body = j.anon.do("POST", "/v1/auth/login:continue", map[string]any{"loginTicket": body["loginTicket"], "totpCode": behind})
			if st != 200 {
				t.Fatalf("a code one step behind: %d %v, want it accepted", st, body)
			}
			// Two steps ahead is too far.
			_, body = login(j.anon, code, user, password)
			ahead := totpAt(t, secret, j.clk.Now().Add(60*time.Second))
			st, body = j.anon.do("POST", "/v1/auth/login:continue", map[string]any{"loginTicket": body["loginTicket"], "totpCode": ahead})
			if st != 401 {
				t.Fatalf("a code two steps ahead: %d %v, want 401", st, body)
			}
		})
	})
}

func decodeB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("not base64: %v", err)
	}
	return b
}

// A tenant that requires two-step verification and a user with no factor:
// the log-in enrols one (ENROLL_MFA) and hands out recovery codes once.
func TestMFARequired_EnrolsAtLogin_RecoveryCodeWorksOnce(t *testing.T) {
	eachJourneyStore(t, func(j *journey) {
		t := j.t
		code := j.newTenant("mfa", map[string]any{"mfa": map[string]any{"required": true}}, "admin", "admin@mfa.example")
		// The first log-in replaces the temporary password, then enrols.
		body := j.firstLogin(code, "admin")
		if body["nextStep"] != "ENROLL_MFA" {
			t.Fatalf("after the new password: %v, want ENROLL_MFA", body)
		}
		st := 0
		ticket := body["loginTicket"]
		st, body = j.anon.do("POST", "/v1/auth/login:continue", map[string]any{"loginTicket": ticket, "startTotpEnrollment": true})
		if st != 200 || body["nextStep"] != "ENROLL_MFA" || body["totpEnrollment"] == nil {
			t.Fatalf("start the enrolment: %d %v", st, body)
		}
		enr := body["totpEnrollment"].(map[string]any)
		secret := secretOf(t, enr["otpauthUri"].(string))
		if qr.Decode(t, decodeB64(t, enr["qrPng"].(string))) != enr["otpauthUri"] {
			t.Fatal("the QR code is not the otpauth URI")
		}
		st, body = j.anon.do("POST", "/v1/auth/login:continue", map[string]any{"loginTicket": body["loginTicket"], "totpCode": j.code(secret)})
		if st != 200 || body["accessToken"] == nil || len(items(body, "recoveryCodes")) != 10 {
			t.Fatalf("the first code: %d %v, want tokens and ten recovery codes", st, body)
		}
		recovery := items(body, "recoveryCodes")[0].(string)
		_, body = login(j.anon, code, "admin", adminPassword)
		if body["nextStep"] != "MFA" {
			t.Fatalf("next log-in: %v, want MFA", body)
		}
		st, body = j.anon.do("POST", "/v1/auth/login:continue", map[string]any{"loginTicket": body["loginTicket"], "recoveryCode": recovery})
		if st != 200 || body["accessToken"] == nil {
			t.Fatalf("a recovery code: %d %v", st, body)
		}
		_, body = login(j.anon, code, "admin", adminPassword)
		st, body = j.anon.do("POST", "/v1/auth/login:continue", map[string]any{"loginTicket": body["loginTicket"], "recoveryCode": recovery})
		if st != 401 {
			t.Fatalf("the recovery code twice: %d %v, want 401", st, body)
		}
	})
}
