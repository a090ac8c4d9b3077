// Package templates renders the notification e-mails from embedded
// templates: a subject and a text part (text/template) and an HTML part
// (html/template, so user-controlled fields such as a display name are
// escaped), per language, with the tenant's branding. The authenticator key
// template adds a QR code as an inline PNG referenced by its Content-ID.
package templates

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"net/url"
	"strings"
	texttemplate "text/template"
	"time"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/latchkey/latchkey/services/notification/internal/delivery"
)

//go:embed files
var files embed.FS

// Languages are the languages there are templates for; the first is the
// fallback.
var Languages = []string{"en", "nl"}

// QRName is the file name (and Content-ID) of the inline QR code.
const QRName = "qr.png"

// Paths of the hosted pages the links open, under the tenant's link base
// URL. A request that carries "token" rather than "link" gets
// base + path + url-escaped token (+ "&tenant=" and the company code).
const (
	ActivationPath = "/ui/activate?token="
	ResetPath      = "/ui/reset-password?token="
	ForgotPath     = "/ui/forgot-password"
	SignInPath     = "/ui/"
)

// Brand is what a tenant's policy says its e-mail looks like.
type Brand struct {
	// Name is the product name shown (tenant policy brand_name, else the
	// tenant's name, else "Latchkey").
	Name string
	// CompanyCode is the tenant code users type at log-in.
	CompanyCode string
	// LinkBaseURL is where links point (never from a request header).
	LinkBaseURL string
}

// Input is one message to render.
type Input struct {
	Template delivery.Template
	// Locale is a BCP 47 tag; its language picks the templates.
	Locale      string
	Brand       Brand
	DisplayName string
	Variables   map[string]string
}

// Inline is a part referenced from the HTML by cid:Name.
type Inline struct {
	Name        string
	ContentType string
	Data        []byte
}

// Message is a rendered e-mail.
type Message struct {
	// Language is the language used ("en", "nl").
	Language string
	Subject  string
	Text     string
	HTML     string
	Inline   []Inline
}

type set struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

var sets = func() map[string]set {
	m := map[string]set{}
	for _, lang := range Languages {
		m[lang] = set{
			text: texttemplate.Must(texttemplate.New(lang).Option("missingkey=zero").ParseFS(files, "files/"+lang+".txt")),
			html: htmltemplate.Must(htmltemplate.New(lang).Option("missingkey=zero").ParseFS(files, "files/"+lang+".html")),
		}
	}
	return m
}()

// Language picks the template language for a locale ("nl-BE" → "nl"); an
// unknown or empty locale gives "".
func Language(locale string) string {
	l := strings.ToLower(strings.TrimSpace(locale))
	if i := strings.IndexAny(l, "-_"); i >= 0 {
		l = l[:i]
	}
	for _, k := range Languages {
		if k == l {
			return k
		}
	}
	return ""
}

// Choose returns the language of the first locale that has templates, in
// order of preference (request, account, tenant), else English.
func Choose(locales ...string) string {
	for _, l := range locales {
		if lang := Language(l); lang != "" {
			return lang
		}
	}
	return Languages[0]
}

// data is what the templates see. Everything is a plain string, escaped by
// html/template in the HTML part, except OTPAuthURL, which is checked to be
// an otpauth URI first (html/template refuses non-web schemes in href).
type data struct {
	Lang        string
	Subject     string
	Brand       string
	CompanyCode string
	Name        string
	Link        string
	BaseLink    string
	HelpLink    string
	Expire      string
	When        string
	Unlock      string
	Secret      string
	OTPAuthURI  string
	OTPAuthURL  htmltemplate.URL
	QRName      string
	Reason      string
	ByAdmin     bool
	Device      string
	IP          string
	UserAgent   string
	Body        htmltemplate.HTML
}

// Render renders in.
func Render(in Input) (*Message, error) {
	if !in.Template.Valid() {
		return nil, fmt.Errorf("templates: unknown template %q", in.Template)
	}
	lang := Choose(in.Locale)
	s := sets[lang]
	v := in.Variables
	base := strings.TrimRight(in.Brand.LinkBaseURL, "/")
	d := data{
		Lang:        lang,
		Brand:       in.Brand.Name,
		CompanyCode: in.Brand.CompanyCode,
		Name:        in.DisplayName,
		Link:        v["link"],
		BaseLink:    base + SignInPath,
		HelpLink:    base + ForgotPath,
		Expire:      formatTime(v["expire_time"], lang),
		When:        formatTime(v["time"], lang),
		Unlock:      formatTime(v["unlock_time"], lang),
		Secret:      groupSecret(v["secret"]),
		OTPAuthURI:  v["otpauth_uri"],
		QRName:      QRName,
		Reason:      v["reason"],
		ByAdmin:     v["by_admin"] == "true",
		Device:      v["device_name"],
		IP:          v["ip"],
		UserAgent:   v["user_agent"],
	}
	if d.Brand == "" {
		d.Brand = "Latchkey"
	}
	if d.Name == "" {
		d.Name = map[string]string{"en": "there", "nl": "daar"}[lang]
	}
	if in.Brand.CompanyCode != "" {
		q := url.Values{"tenant": {in.Brand.CompanyCode}}.Encode()
		d.HelpLink += "?" + q
		d.BaseLink += "?" + q
	}
	if d.Link == "" && v["token"] != "" {
		switch in.Template {
		case delivery.Activation:
			d.Link = base + ActivationPath + url.QueryEscape(v["token"])
		case delivery.PasswordReset:
			d.Link = base + ResetPath + url.QueryEscape(v["token"])
		}
		// The page shows the tenant's brand, language and password rules
		// before the token is spent; the company code tells it which.
		if d.Link != "" && in.Brand.CompanyCode != "" {
			d.Link += "&" + url.Values{"tenant": {in.Brand.CompanyCode}}.Encode()
		}
	}
	msg := &Message{Language: lang}
	if in.Template == delivery.AuthenticatorKey {
		if !strings.HasPrefix(d.OTPAuthURI, "otpauth://") {
			return nil, fmt.Errorf("templates: otpauth_uri is not an otpauth:// URI")
		}
		d.OTPAuthURL = htmltemplate.URL(d.OTPAuthURI)
		png, err := qrcode.Encode(d.OTPAuthURI, qrcode.Medium, 256)
		if err != nil {
			return nil, fmt.Errorf("templates: QR code: %w", err)
		}
		msg.Inline = append(msg.Inline, Inline{Name: QRName, ContentType: "image/png", Data: png})
	}

	name := string(in.Template)
	var b bytes.Buffer
	if err := s.text.ExecuteTemplate(&b, name+".subject", d); err != nil {
		return nil, fmt.Errorf("templates: %s subject: %w", name, err)
	}
	// A header is one line, whatever a variable held.
	msg.Subject = strings.Join(strings.Fields(b.String()), " ")
	d.Subject = msg.Subject

	b.Reset()
	if err := s.text.ExecuteTemplate(&b, name+".text", d); err != nil {
		return nil, fmt.Errorf("templates: %s text: %w", name, err)
	}
	if err := s.text.ExecuteTemplate(&b, "footer.text", d); err != nil {
		return nil, fmt.Errorf("templates: footer: %w", err)
	}
	msg.Text = b.String()

	b.Reset()
	if err := s.html.ExecuteTemplate(&b, name+".html", d); err != nil {
		return nil, fmt.Errorf("templates: %s html: %w", name, err)
	}
	// The body is html/template output, so it is safe to place as HTML.
	d.Body = htmltemplate.HTML(b.String()) //nolint:gosec // escaped above
	b.Reset()
	if err := s.html.ExecuteTemplate(&b, "layout", d); err != nil {
		return nil, fmt.Errorf("templates: layout: %w", err)
	}
	msg.HTML = b.String()
	return msg, nil
}

// groupSecret writes a base32 key in groups of four, as authenticator apps
// show it, so it is easier to type.
func groupSecret(s string) string {
	s = strings.ReplaceAll(strings.ToUpper(s), " ", "")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

var dutchMonths = [...]string{"januari", "februari", "maart", "april", "mei", "juni", "juli",
	"augustus", "september", "oktober", "november", "december"}

// formatTime turns an RFC 3339 variable into a date people read in lang
// (UTC). Anything else is shown as given.
func formatTime(s, lang string) string {
	if s == "" {
		return ""
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return s
	}
	t = t.UTC()
	if lang == "nl" {
		return fmt.Sprintf("%d %s %d om %s UTC", t.Day(), dutchMonths[t.Month()-1], t.Year(), t.Format("15:04"))
	}
	return t.Format("2 January 2006 at 15:04 UTC")
}
