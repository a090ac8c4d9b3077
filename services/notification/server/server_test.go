package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/latchkey/latchkey/libs/clock"
	"github.com/latchkey/latchkey/libs/ids"
	"github.com/latchkey/latchkey/libs/natsx"
	"github.com/latchkey/latchkey/libs/testkit"
	"github.com/latchkey/latchkey/libs/testkit/qr"
	"github.com/latchkey/latchkey/libs/testkit/smtptest"
	eventsv1 "github.com/latchkey/latchkey/proto/gen/latchkey/events/v1"
	notificationinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/notification/v1"
	notificationv1 "github.com/latchkey/latchkey/proto/gen/latchkey/notification/v1"
	"github.com/latchkey/latchkey/services/notification/server"
)

const otpauth = "otpauth://totp/ESHC:jan%40eshc.example?secret=JBSWY3DPEHPK3PXP&issuer=ESHC"

func keyRequest(id string) *notificationinternalv1.SendNotificationRequest {
	return &notificationinternalv1.SendNotificationRequest{
		RequestId: id, TenantId: tenantID, AccountId: accountID, Template: notificationv1.Template_AUTHENTICATOR_KEY,
		Recipient: &notificationinternalv1.Recipient{Address: "jan@eshc.example", DisplayName: "Jan <script>x</script>"},
		Variables: map[string]string{"otpauth_uri": otpauth, "secret": "JBSWY3DPEHPK3PXP"},
	}
}

func resetRequest(id, to string) *notificationinternalv1.SendNotificationRequest {
	return &notificationinternalv1.SendNotificationRequest{
		RequestId: id, TenantId: tenantID, Template: notificationv1.Template_PASSWORD_RESET, Locale: "en",
		Recipient: &notificationinternalv1.Recipient{Address: to},
		Variables: map[string]string{"token": "tok-" + id, "expire_time": "2026-12-01T10:00:00Z"},
	}
}

func TestSendNotification_DeliversMIMEWithBothPartsQRLanguageAndLinks(t *testing.T) {
	eachStore(t, func(t *testing.T, pgURL, dataDir string) {
		smtp := smtptest.Start(t, smtptest.Options{})
		inst := start(t, baseConfig(pgURL, dataDir, privateNATS(t), startAccounts(t), smtp.Addr, clock.System{}))
		ctx := context.Background()

		key, err := inst.client.SendNotification(ctx, keyRequest("key-1"))
		if err != nil {
			t.Fatal(err)
		}
		reset, err := inst.client.SendNotification(ctx, resetRequest("reset-1", "piet@eshc.example"))
		if err != nil {
			t.Fatal(err)
		}
		// A repeated request id returns the first delivery.
		again, err := inst.client.SendNotification(ctx, keyRequest("key-1"))
		if err != nil || again.GetDeliveryId() != key.GetDeliveryId() {
			t.Fatalf("repeat = %v, %v; want delivery %s", again, err, key.GetDeliveryId())
		}
		d := waitStatus(t, inst.client, key.GetDeliveryId(), notificationv1.DeliveryStatus_SENT, 1)
		if d.GetSentTime() == nil || d.GetRecipientAddress() != "jan@eshc.example" {
			t.Errorf("delivery %+v", d)
		}
		waitStatus(t, inst.client, reset.GetDeliveryId(), notificationv1.DeliveryStatus_SENT, 1)
		msgs := smtp.Wait(waitCtx(t), 2)
		if len(msgs) != 2 {
			t.Fatalf("%d messages arrived, want 2", len(msgs))
		}
		byTo := map[string]*smtptest.Parsed{}
		for _, m := range msgs {
			if m.From != "noreply@eshc.example" || len(m.To) != 1 {
				t.Errorf("envelope from %q to %v", m.From, m.To)
			}
			byTo[m.To[0]] = parse(t, m)
		}

		// The key, in the account's language (Dutch), with the QR code.
		k := byTo["jan@eshc.example"]
		if k == nil {
			t.Fatal("no message to jan")
		}
		if lang := k.Header.Get("Content-Language"); lang != "nl" {
			t.Errorf("Content-Language %q, want nl", lang)
		}
		if subj, _ := new(mimeDecoder).DecodeHeader(k.Header.Get("Subject")); !strings.Contains(subj, "ESHC Portaal") || !strings.Contains(subj, "authenticatorsleutel") {
			t.Errorf("subject %q", subj)
		}
		if k.Text == "" || k.HTML == "" {
			t.Fatalf("want a text and an HTML part; text %d bytes, html %d bytes", len(k.Text), len(k.HTML))
		}
		if !strings.Contains(k.Text, "JBSW Y3DP EHPK 3PXP") || !strings.Contains(k.Text, otpauth) {
			t.Errorf("text lacks the key or the otpauth link:\n%s", k.Text)
		}
		if strings.Contains(k.HTML, "<script>") || !strings.Contains(k.HTML, "&lt;script&gt;") {
			t.Errorf("display name not escaped in HTML:\n%s", k.HTML)
		}
		png, ok := k.Images["qr.png"]
		if !ok || !strings.Contains(k.HTML, `src="cid:qr.png"`) {
			t.Fatalf("no inline QR referenced by cid (images %d)", len(k.Images))
		}
		if got := qr.Decode(t, png); got != otpauth {
			t.Errorf("QR decodes to %q, want %q", got, otpauth)
		}

		// The reset link, in the language the request asked for, from the
		// tenant's link base, carrying the token.
		r := byTo["piet@eshc.example"]
		if r == nil {
			t.Fatal("no message to piet")
		}
		if r.Header.Get("Content-Language") != "en" {
			t.Errorf("Content-Language %q, want en", r.Header.Get("Content-Language"))
		}
		link := "https://id.eshc.example/ui/reset-password?token=tok-reset-1&tenant=eshc"
		if !strings.Contains(r.Text, link) || !strings.Contains(r.HTML, `href="`+html.EscapeString(link)+`"`) {
			t.Errorf("reset link %s missing:\n%s\n%s", link, r.Text, r.HTML)
		}
		if !strings.Contains(r.Text, "eshc") {
			t.Errorf("company code missing:\n%s", r.Text)
		}
	})
}

func TestSendNotification_BadRequestNamesTheField(t *testing.T) {
	inst := start(t, baseConfig("", t.TempDir(), privateNATS(t), "", "", clock.System{}))
	req := resetRequest("r1", "not an address")
	delete(req.Variables, "token")
	_, err := inst.client.SendNotification(context.Background(), req)
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "recipient.address") || !strings.Contains(err.Error(), "variables.link") {
		t.Fatalf("err = %v, want InvalidArgument naming recipient.address and variables.link", err)
	}
}

func TestWorkQueue_RepeatedRequestIDSendsOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, pgURL, dataDir string) {
		smtp := smtptest.Start(t, smtptest.Options{})
		nc := privateNATS(t)
		start(t, baseConfig(pgURL, dataDir, nc, startAccounts(t), smtp.Addr, clock.System{}))
		js, err := natsx.NewJetStream(nc)
		if err != nil {
			t.Fatal(err)
		}
		publish := func(req *notificationinternalv1.SendNotificationRequest, msgID string) {
			t.Helper()
			data, _ := proto.Marshal(req)
			if _, err := natsx.PublishMsg(context.Background(), js, natsx.NotifySendSubject, msgID, data, nil); err != nil {
				t.Fatal(err)
			}
		}
		req := resetRequest("wq-1", "jan@eshc.example")
		publish(req, "wq-1")                                         // the first
		publish(req, "wq-1")                                         // JetStream drops it (duplicate window)
		publish(req, "wq-1-resent")                                  // a new message, the same request: dropped by request id
		publish(resetRequest("wq-2", "marker@eshc.example"), "wq-2") // handled after the copies
		smtp.Wait(waitCtx(t), 2)
		// The queue is handled in order: once the marker arrived, the
		// copies were handled too; a stray copy would follow it.
		noMoreMessages(t, smtp, 2)
		msgs := smtp.Messages()
		count := map[string]int{}
		for _, m := range msgs {
			count[m.To[0]]++
		}
		if count["jan@eshc.example"] != 1 || count["marker@eshc.example"] != 1 || len(msgs) != 2 {
			t.Fatalf("arrived %v, want one each", count)
		}
		if !strings.Contains(string(msgs[0].Data)+string(msgs[1].Data), "tok-wq-1") {
			t.Error("the link token did not reach the message")
		}
	})
}

func TestSMTPRefusesThenAccepts_ArrivesOnceAfterBackoff(t *testing.T) {
	eachStore(t, func(t *testing.T, pgURL, dataDir string) {
		smtp := smtptest.Start(t, smtptest.Options{})
		smtp.Reject(func(n int) error {
			if n <= 2 {
				return smtptest.Temporary
			}
			return nil
		})
		clk := clock.NewFake(t0)
		cfg := baseConfig(pgURL, dataDir, privateNATS(t), startAccounts(t), smtp.Addr, clk)
		inst := start(t, cfg)
		resp, err := inst.client.SendNotification(context.Background(), resetRequest("r1", "jan@eshc.example"))
		if err != nil {
			t.Fatal(err)
		}
		d := waitStatus(t, inst.client, resp.GetDeliveryId(), notificationv1.DeliveryStatus_RETRYING, 1)
		if !strings.Contains(d.GetLastError(), "451") {
			t.Errorf("last error %q, want the 451", d.GetLastError())
		}
		// First wait 30s (jitter factor 1), then 60s.
		if got := d.GetNextAttemptTime().AsTime(); !got.Equal(t0.Add(30 * time.Second)) {
			t.Errorf("next attempt %v, want %v", got, t0.Add(30*time.Second))
		}
		clk.Advance(29 * time.Second)
		// Several of the worker's polls: nothing may happen before its time.
		testkit.Consistently(t, 100*time.Millisecond, func() error {
			d := getDelivery(t, inst.client, resp.GetDeliveryId())
			if d.GetStatus() != notificationv1.DeliveryStatus_RETRYING || d.GetAttempts() != 1 {
				return fmt.Errorf("%v after %d attempts before the retry was due", d.GetStatus(), d.GetAttempts())
			}
			return nil
		})
		clk.Advance(time.Second)
		d = waitStatus(t, inst.client, resp.GetDeliveryId(), notificationv1.DeliveryStatus_RETRYING, 2)
		if got := d.GetNextAttemptTime().AsTime(); !got.Equal(t0.Add(90 * time.Second)) {
			t.Errorf("next attempt %v, want %v", got, t0.Add(90*time.Second))
		}
		clk.Advance(time.Minute)
		waitStatus(t, inst.client, resp.GetDeliveryId(), notificationv1.DeliveryStatus_SENT, 3)
		noMoreMessages(t, smtp, 1)
	})
}

func TestSMTPPermanentFailure_EndsFailedWithNotificationFailed(t *testing.T) {
	eachStore(t, func(t *testing.T, pgURL, dataDir string) {
		smtp := smtptest.Start(t, smtptest.Options{})
		smtp.Reject(func(int) error { return smtptest.Permanent })
		nc := privateNATS(t)
		inst := start(t, baseConfig(pgURL, dataDir, nc, startAccounts(t), smtp.Addr, clock.System{}))
		resp, err := inst.client.SendNotification(context.Background(), resetRequest("r1", "nobody@eshc.example"))
		if err != nil {
			t.Fatal(err)
		}
		d := waitStatus(t, inst.client, resp.GetDeliveryId(), notificationv1.DeliveryStatus_FAILED, 1)
		if !strings.Contains(d.GetLastError(), "550") {
			t.Errorf("last error %q, want the 550", d.GetLastError())
		}
		evs := testkit.WaitEvents(t, nc.ConnectedUrl(), testkit.EventQuery{Subject: "latchkey.events.v1.notification.failed"}, nil)
		ev := evs[0].Message.(*eventsv1.NotificationFailed)
		if len(evs) != 1 || ev.GetDeliveryId() != resp.GetDeliveryId() || ev.GetTemplate() != notificationv1.Template_PASSWORD_RESET ||
			!strings.Contains(ev.GetReason(), "550") || ev.GetMeta().GetTenantId() != tenantID {
			t.Errorf("events %v", evs)
		}
		if strings.Contains(string(evs[0].Data), "tok-r1") {
			t.Error("the event carries the link token")
		}
	})
}

// The service stops (or dies) while the SMTP server is slow to answer.
// Either the server had not taken the message (it arrives once, from the
// next run), or it had taken it but the reply never came back: then the
// next run sends it again, and the receiver gets two copies with one
// Message-ID — delivery is at least once, as SMTP itself is.
func TestStoppedMidDelivery_RestartedRunDeliversIt(t *testing.T) {
	for _, c := range []struct {
		name      string
		keepFirst bool
		want      int
	}{
		{"not_yet_accepted", false, 1},
		{"accepted_reply_lost", true, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			eachStore(t, func(t *testing.T, pgURL, dataDir string) {
				smtp := smtptest.Start(t, smtptest.Options{})
				release := make(chan struct{})
				arrived := make(chan struct{})
				smtp.Reject(func(n int) error {
					if n == 1 {
						close(arrived)
						<-release // the first run is gone by the time this answers
						return smtptest.Temporary
					}
					return nil
				})
				if c.keepFirst {
					smtp.KeepRejected(1)
				}
				clk := clock.NewFake(t0)
				nc := privateNATS(t)
				accounts := startAccounts(t)
				cfg := baseConfig(pgURL, dataDir, nc, accounts, smtp.Addr, clk)
				first := start(t, cfg)
				resp, err := first.client.SendNotification(context.Background(), resetRequest("r1", "jan@eshc.example"))
				if err != nil {
					t.Fatal(err)
				}
				<-arrived
				// Kill the first run: it never gets to record the outcome
				// (its worker is stuck in the SMTP conversation).
				first.cancel()
				second := start(t, cfg)
				// Its lease still holds the delivery …
				noMoreMessages(t, smtp, boolInt(c.keepFirst))
				// … until the lease runs out.
				clk.Advance(3 * time.Minute)
				d := waitStatus(t, second.client, resp.GetDeliveryId(), notificationv1.DeliveryStatus_SENT, 2)
				close(release)
				// Run returns once its worker recorded the late outcome.
				<-first.done
				// The first run's late outcome did not overwrite the second's.
				d = waitStatus(t, second.client, d.GetId(), notificationv1.DeliveryStatus_SENT, 2)
				msgs := smtp.Messages()
				if len(msgs) != c.want {
					t.Fatalf("%d copies arrived, want %d", len(msgs), c.want)
				}
				ids := map[string]bool{}
				for _, m := range msgs {
					ids[parse(t, m).Header.Get("Message-Id")] = true
				}
				if len(ids) != 1 {
					t.Errorf("copies carry Message-IDs %v, want one", ids)
				}
			})
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestSecurityNotices_FromEvents_ToTheAccountsAddressOncePerEvent(t *testing.T) {
	eachStore(t, func(t *testing.T, pgURL, dataDir string) {
		smtp := smtptest.Start(t, smtptest.Options{})
		nc := privateNATS(t)
		start(t, baseConfig(pgURL, dataDir, nc, startAccounts(t), smtp.Addr, clock.System{}))
		js, err := natsx.NewJetStream(nc)
		if err != nil {
			t.Fatal(err)
		}
		publish := func(subject, msgID string, ev proto.Message) {
			t.Helper()
			data, _ := proto.Marshal(ev)
			if _, err := natsx.PublishMsg(context.Background(), js, subject, msgID, data, nil); err != nil {
				t.Fatal(err)
			}
		}
		meta := func() *eventsv1.EventMeta {
			return &eventsv1.EventMeta{EventId: ids.New(), TenantId: tenantID, OccurTime: timestamppb.New(t0)}
		}
		changed := &eventsv1.PasswordChanged{Meta: meta(), AccountId: accountID, Cause: eventsv1.PasswordChanged_Cause_SELF_SERVICE}
		publish("latchkey.events.v1.credential.password_changed", changed.Meta.EventId, changed)
		// The same event again under another message id (a replay): no
		// second notice.
		publish("latchkey.events.v1.credential.password_changed", "replay-"+changed.Meta.EventId, changed)
		// A rehash changes nothing the user chose: no notice.
		rehash := &eventsv1.PasswordChanged{Meta: meta(), AccountId: accountID, Cause: eventsv1.PasswordChanged_Cause_REHASH}
		publish("latchkey.events.v1.credential.password_changed", rehash.Meta.EventId, rehash)
		known := &eventsv1.LoginSucceeded{Meta: meta(), AccountId: accountID, DeviceName: "old"}
		publish("latchkey.events.v1.session.login_succeeded", known.Meta.EventId, known)
		fresh := &eventsv1.LoginSucceeded{Meta: meta(), AccountId: accountID, NewDevice: true, DeviceName: "Pixel <9>", Ip: "192.0.2.7"}
		publish("latchkey.events.v1.session.login_succeeded", fresh.Meta.EventId, fresh)
		locked := &eventsv1.AccountLocked{Meta: meta(), AccountId: accountID, Reason: 1}
		publish("latchkey.events.v1.account.locked", locked.Meta.EventId, locked)
		on := &eventsv1.MfaEnabled{Meta: meta(), AccountId: accountID}
		publish("latchkey.events.v1.mfa.enabled", on.Meta.EventId, on)
		reset := &eventsv1.MfaReset{Meta: meta(), AccountId: accountID}
		publish("latchkey.events.v1.mfa.reset", reset.Meta.EventId, reset)
		expiring := &eventsv1.PasswordExpiresSoon{Meta: meta(), AccountId: accountID,
			ExpireTime: timestamppb.New(time.Date(2026, 12, 3, 10, 30, 0, 0, time.UTC))}
		publish("latchkey.events.v1.credential.password_expires_soon", expiring.Meta.EventId, expiring)

		smtp.Wait(waitCtx(t), 6)
		noMoreMessages(t, smtp, 6)
		msgs := smtp.Messages()
		subjects := map[string]int{}
		for _, m := range msgs {
			if m.To[0] != "jan@eshc.example" {
				t.Errorf("notice to %v, want the account's address", m.To)
			}
			p := parse(t, m)
			subj, _ := new(mimeDecoder).DecodeHeader(p.Header.Get("Subject"))
			subjects[subj]++
			if p.Header.Get("Content-Language") != "nl" {
				t.Errorf("%q in %q, want the account's nl", subj, p.Header.Get("Content-Language"))
			}
			if strings.Contains(p.HTML, "<script>") || strings.Contains(p.HTML, "<9>") {
				t.Errorf("unescaped input in %q:\n%s", subj, p.HTML)
			}
			if strings.Contains(subj, "verloopt") && !strings.Contains(p.Text, "verloopt op 3 december 2026") {
				t.Errorf("expiry notice without its date:\n%s", p.Text)
			}
		}
		want := []string{
			"Je ESHC Portaal-wachtwoord is gewijzigd",
			"Nieuwe aanmelding bij je ESHC Portaal-account",
			"Je ESHC Portaal-account is geblokkeerd",
			"Verificatie in twee stappen staat aan voor je ESHC Portaal-account",
			"Verificatie in twee stappen staat uit voor je ESHC Portaal-account",
			"Je ESHC Portaal-wachtwoord verloopt binnenkort",
		}
		for _, w := range want {
			if subjects[w] != 1 {
				t.Errorf("%q arrived %d times, want once (all: %v)", w, subjects[w], subjects)
			}
		}
		if len(msgs) != len(want) {
			t.Errorf("%d notices, want %d: %v", len(msgs), len(want), subjects)
		}
	})
}

func TestRateLimits_ExcessEndsRateLimitedAndIsNotSent(t *testing.T) {
	eachStore(t, func(t *testing.T, pgURL, dataDir string) {
		smtp := smtptest.Start(t, smtptest.Options{})
		cfg := baseConfig(pgURL, dataDir, privateNATS(t), startAccounts(t), smtp.Addr, clock.System{})
		cfg.Limits = server.RateLimits{PerRecipient: 2, PerTenant: -1, Window: time.Hour}
		inst := start(t, cfg)
		var last string
		for i := range 3 {
			resp, err := inst.client.SendNotification(context.Background(), resetRequest(ids.New(), "jan@eshc.example"))
			if err != nil {
				t.Fatal(err)
			}
			if i < 2 {
				waitStatus(t, inst.client, resp.GetDeliveryId(), notificationv1.DeliveryStatus_SENT, 1)
			}
			last = resp.GetDeliveryId()
		}
		d := waitStatus(t, inst.client, last, notificationv1.DeliveryStatus_RATE_LIMITED, 1)
		if !strings.Contains(d.GetLastError(), "rate limited") {
			t.Errorf("reason %q", d.GetLastError())
		}
		if n := len(smtp.Messages()); n != 2 {
			t.Fatalf("%d messages, want 2", n)
		}
	})
}

func TestMailbox_WithoutSMTP_MessagesAreListedWithTheirLinks(t *testing.T) {
	dataDir := t.TempDir()
	cfg := baseConfig("", dataDir, privateNATS(t), startAccounts(t), "", clock.System{})
	cfg.Mailbox = true
	h, err := server.MailboxHandler(cfg, "/ui/mailbox/")
	if err != nil || h == nil {
		t.Fatalf("MailboxHandler = %v, %v", h, err)
	}
	inst := start(t, cfg)
	resp, err := inst.client.SendNotification(context.Background(), resetRequest("r1", "jan@eshc.example"))
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, inst.client, resp.GetDeliveryId(), notificationv1.DeliveryStatus_SENT, 1)

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ui/mailbox/messages?to=jan@eshc.example", nil))
	var list struct {
		Messages []struct {
			ID, To, Subject, HTML string
			Links                 []string
		}
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || len(list.Messages) != 1 {
		t.Fatalf("JSON %s: %v", rec.Body, err)
	}
	m := list.Messages[0]
	link := "https://id.eshc.example/ui/reset-password?token=tok-r1&tenant=eshc"
	if m.To != "jan@eshc.example" || len(m.Links) == 0 || m.Links[0] != link || m.HTML == "" {
		t.Errorf("message %+v", m)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ui/mailbox/", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), m.Subject) || !strings.Contains(rec.Body.String(), `href="`+html.EscapeString(link)+`"`) {
		t.Errorf("page %d:\n%s", rec.Code, rec.Body)
	}
	for _, path := range []string{"/ui/mailbox/messages/" + m.ID + ".eml", "/ui/mailbox/messages/" + m.ID + ".html"} {
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), "tok-r1") {
			t.Errorf("%s: %d", path, rec.Code)
		}
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ui/mailbox/messages/..%2f..%2fetc.eml", nil))
	if rec.Code != 404 {
		t.Errorf("path traversal answered %d", rec.Code)
	}

	cfg.Mailbox = false
	if h, err := server.MailboxHandler(cfg, "/ui/mailbox/"); h != nil || err != nil {
		t.Errorf("mailbox page served while off")
	}
}
