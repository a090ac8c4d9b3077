package templates_test

import (
	"html"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/libs/testkit/qr"
	"github.com/latchkey/latchkey/services/notification/internal/delivery"
	"github.com/latchkey/latchkey/services/notification/internal/templates"
)

const otpauth = "otpauth://totp/ESHC:jan%40eshc.example?secret=JBSWY3DPEHPK3PXP&issuer=ESHC&algorithm=SHA1&digits=6&period=30"

// vars has what every template may use, so each renders fully.
func vars() map[string]string {
	return map[string]string{
		"token": "tok-123_ABC", "expire_time": "2026-12-03T10:30:00Z", "time": "2026-12-01T09:15:00Z",
		"otpauth_uri": otpauth, "secret": "JBSWY3DPEHPK3PXP", "reason": "FAILED_ATTEMPTS",
		"unlock_time": "2026-12-01T09:45:00Z", "device_name": "Jan's <b>phone</b>", "ip": "192.0.2.7", "user_agent": "Firefox",
	}
}

// Words only the right language has, per template and language.
var want = map[delivery.Template]map[string]string{
	delivery.Activation:          {"en": "activate", "nl": "activeren"},
	delivery.PasswordReset:       {"en": "new password", "nl": "nieuw wachtwoord"},
	delivery.AuthenticatorKey:    {"en": "authenticator app", "nl": "authenticator-app"},
	delivery.PasswordChanged:     {"en": "was changed", "nl": "is gewijzigd"},
	delivery.AccountLocked:       {"en": "too many failed sign-in attempts", "nl": "te veel mislukte aanmeldpogingen"},
	delivery.MFAEnabled:          {"en": "turned on", "nl": "aangezet"},
	delivery.MFADisabled:         {"en": "turned off", "nl": "uitgezet"},
	delivery.NewDevice:           {"en": "new device", "nl": "nieuw apparaat"},
	delivery.PasswordExpiresSoon: {"en": "expires on 3 December 2026", "nl": "verloopt op 3 december 2026"},
}

func TestRender_EveryTemplateInBothLanguages_EscapesDisplayName(t *testing.T) {
	const evil = `Jan <script>alert("x")</script>`
	for _, tmpl := range delivery.Templates {
		for _, lang := range templates.Languages {
			t.Run(string(tmpl)+"/"+lang, func(t *testing.T) {
				m, err := templates.Render(templates.Input{
					Template: tmpl, Locale: lang + "-XX", DisplayName: evil, Variables: vars(),
					Brand: templates.Brand{Name: "ESHC Portal", CompanyCode: "eshc", LinkBaseURL: "https://id.eshc.example/"},
				})
				if err != nil {
					t.Fatal(err)
				}
				if m.Language != lang {
					t.Fatalf("language %q, want %q", m.Language, lang)
				}
				if m.Subject == "" || strings.ContainsAny(m.Subject, "\r\n") || !strings.Contains(m.Subject, "ESHC Portal") {
					t.Errorf("subject %q: want one line with the brand", m.Subject)
				}
				w := want[tmpl][lang]
				for part, body := range map[string]string{"text": m.Text, "html": m.HTML} {
					if !strings.Contains(strings.ToLower(body), strings.ToLower(w)) {
						t.Errorf("%s part lacks %q:\n%s", part, w, body)
					}
					if strings.Contains(body, "<no value>") {
						t.Errorf("%s part has an unset field:\n%s", part, body)
					}
				}
				if strings.Contains(m.HTML, "<script>") || strings.Contains(m.HTML, "<b>phone") {
					t.Errorf("HTML part has user input unescaped:\n%s", m.HTML)
				}
				if !strings.Contains(m.HTML, "Jan &lt;script&gt;") {
					t.Errorf("HTML part lacks the escaped display name:\n%s", m.HTML)
				}
				if !strings.Contains(m.Text, evil) {
					t.Errorf("text part should show the name as typed:\n%s", m.Text)
				}
				if !strings.Contains(m.HTML, `lang="`+lang+`"`) {
					t.Errorf("HTML part lacks lang=%q", lang)
				}
			})
		}
	}
}

func TestRender_LinksComeFromTheTenantBaseAndCarryTheToken(t *testing.T) {
	for tmpl, path := range map[delivery.Template]string{
		delivery.Activation:    "https://id.eshc.example/ui/activate?token=tok-123_ABC&tenant=eshc",
		delivery.PasswordReset: "https://id.eshc.example/ui/reset-password?token=tok-123_ABC&tenant=eshc",
	} {
		m, err := templates.Render(templates.Input{Template: tmpl, Locale: "en", Variables: vars(),
			Brand: templates.Brand{Name: "ESHC", CompanyCode: "eshc", LinkBaseURL: "https://id.eshc.example/"}})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(m.Text, path) || !strings.Contains(m.HTML, `href="`+html.EscapeString(path)+`"`) {
			t.Errorf("%s: link %s missing:\n%s\n%s", tmpl, path, m.Text, m.HTML)
		}
		if !strings.Contains(m.Text, "company code: eshc") {
			t.Errorf("%s: company code missing:\n%s", tmpl, m.Text)
		}
		if !strings.Contains(m.Text, "3 December 2026 at 10:30 UTC") {
			t.Errorf("%s: expiry missing:\n%s", tmpl, m.Text)
		}
	}
}

func TestRender_AuthenticatorKey_QRDecodesToTheURIAndHTMLReferencesIt(t *testing.T) {
	m, err := templates.Render(templates.Input{Template: delivery.AuthenticatorKey, Locale: "nl", Variables: vars()})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Inline) != 1 || m.Inline[0].ContentType != "image/png" {
		t.Fatalf("inline parts %+v, want one PNG", m.Inline)
	}
	if got := qr.Decode(t, m.Inline[0].Data); got != otpauth {
		t.Errorf("QR says %q, want %q", got, otpauth)
	}
	if !strings.Contains(m.HTML, `src="cid:`+templates.QRName+`"`) {
		t.Errorf("HTML does not show the QR image:\n%s", m.HTML)
	}
	if !strings.Contains(m.Text, "JBSW Y3DP EHPK 3PXP") || !strings.Contains(m.Text, otpauth) {
		t.Errorf("text lacks the key or the link:\n%s", m.Text)
	}
	if !strings.Contains(m.HTML, `href="otpauth://totp/`) {
		t.Errorf("HTML lacks the otpauth link:\n%s", m.HTML)
	}
}

func TestRender_RefusesAnOtpauthURIOfAnotherScheme(t *testing.T) {
	v := vars()
	v["otpauth_uri"] = "javascript:alert(1)"
	if _, err := templates.Render(templates.Input{Template: delivery.AuthenticatorKey, Variables: v}); err == nil {
		t.Fatal("rendered a javascript: URI as the key link")
	}
}

func TestChoose_PrefersRequestThenAccountThenTenant(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want string
	}{
		{[]string{"nl-NL", "en", "en"}, "nl"},
		{[]string{"", "nl", "en"}, "nl"},
		{[]string{"", "", "nl_BE"}, "nl"},
		{[]string{"ja-JP", "", "nl"}, "nl"},
		{[]string{"", "", ""}, "en"},
		{[]string{"fr"}, "en"},
	} {
		if got := templates.Choose(c.in...); got != c.want {
			t.Errorf("Choose(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
