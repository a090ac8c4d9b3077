// Package mailbox is the built-in mailbox of the all-in-one: with no SMTP
// server configured, e-mail is written to a folder in the data directory
// (one .eml and one .json file per message) and shown by an http.Handler,
// an HTML page and a JSON route, so a new user can click an activation link
// without any mail server.
package mailbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/latchkey/latchkey/services/notification/internal/mailer"
)

// DefaultKeep is how many messages the mailbox keeps; older ones are
// deleted as new ones arrive.
const DefaultKeep = 1000

// Entry is one stored message, as the JSON route returns it.
type Entry struct {
	ID       string    `json:"id"`
	From     string    `json:"from"`
	To       string    `json:"to"`
	Subject  string    `json:"subject"`
	Date     time.Time `json:"date"`
	Language string    `json:"language"`
	Text     string    `json:"text"`
	HTML     string    `json:"html"`
	// Links are the web links of the text part, in order (activation and
	// reset links among them).
	Links []string `json:"links"`
}

// Mailbox is a folder of messages; it is a mailer.Sender.
type Mailbox struct {
	dir  string
	keep int
	mu   sync.Mutex
}

// New returns the mailbox in dir (created when missing); keep 0 means
// DefaultKeep.
func New(dir string, keep int) (*Mailbox, error) {
	if keep <= 0 {
		keep = DefaultKeep
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("mailbox: %w", err)
	}
	return &Mailbox{dir: dir, keep: keep}, nil
}

var linkRE = regexp.MustCompile(`https?://[^\s<>"]+`)

var idRE = regexp.MustCompile(`^[0-9A-Za-z-]{1,64}$`)

// Send implements mailer.Sender: it writes the message; writing the same
// message again (a retry) replaces it.
func (m *Mailbox) Send(_ context.Context, e *mailer.Envelope) error {
	id, _, _ := strings.Cut(e.MessageID, "@")
	if !idRE.MatchString(id) {
		return &mailer.PermanentError{Err: fmt.Errorf("mailbox: bad message id %q", e.MessageID)}
	}
	msg, err := mailer.Build(e)
	if err != nil {
		return &mailer.PermanentError{Err: err}
	}
	var raw bytes.Buffer
	if _, err := msg.WriteTo(&raw); err != nil {
		return &mailer.PermanentError{Err: err}
	}
	entry := Entry{
		ID: id, From: e.From, To: e.To, Subject: e.Message.Subject, Date: e.Date.UTC(),
		Language: e.Message.Language, Text: e.Message.Text, HTML: e.Message.HTML,
		Links: linkRE.FindAllString(e.Message.Text, -1),
	}
	meta, err := json.Marshal(entry)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := writeFile(filepath.Join(m.dir, id+".eml"), raw.Bytes()); err != nil {
		return err
	}
	// The .json last: a message is listed only once both files are there.
	if err := writeFile(filepath.Join(m.dir, id+".json"), meta); err != nil {
		return err
	}
	m.prune()
	return nil
}

// writeFile replaces name atomically, so a reader never sees half a file.
func writeFile(name string, data []byte) error {
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("mailbox: %w", err)
	}
	if err := os.Rename(tmp, name); err != nil {
		return fmt.Errorf("mailbox: %w", err)
	}
	return nil
}

func (m *Mailbox) prune() {
	entries, err := m.List()
	if err != nil || len(entries) <= m.keep {
		return
	}
	for _, e := range entries[m.keep:] {
		_ = os.Remove(filepath.Join(m.dir, e.ID+".json"))
		_ = os.Remove(filepath.Join(m.dir, e.ID+".eml"))
	}
}

// List returns the messages, newest first.
func (m *Mailbox) List() ([]Entry, error) {
	names, err := filepath.Glob(filepath.Join(m.dir, "*.json"))
	if err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(names))
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			continue // deleted meanwhile
		}
		var e Entry
		if json.Unmarshal(b, &e) == nil {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Date.Equal(out[j].Date) {
			return out[i].Date.After(out[j].Date)
		}
		return out[i].ID > out[j].ID
	})
	return out, nil
}

// Handler serves the mailbox under prefix (e.g. "/ui/mailbox/"):
//
//	GET prefix                          the HTML page, newest first
//	GET prefix+"messages"               JSON: {"messages": [Entry…]}; ?to=addr filters
//	GET prefix+"messages/{id}.eml"      the raw MIME message
//	GET prefix+"messages/{id}.html"     the HTML part (sandboxed)
func (m *Mailbox) Handler(prefix string) http.Handler {
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+prefix+"{$}", func(w http.ResponseWriter, r *http.Request) {
		entries, err := m.List()
		if err != nil {
			http.Error(w, "mailbox unreadable", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
		_ = page.Execute(w, struct {
			Prefix   string
			Messages []Entry
		}{prefix, entries})
	})
	mux.HandleFunc("GET "+prefix+"messages", func(w http.ResponseWriter, r *http.Request) {
		entries, err := m.List()
		if err != nil {
			http.Error(w, "mailbox unreadable", http.StatusInternalServerError)
			return
		}
		if to := r.URL.Query().Get("to"); to != "" {
			kept := entries[:0]
			for _, e := range entries {
				if strings.EqualFold(e.To, to) {
					kept = append(kept, e)
				}
			}
			entries = kept
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"messages": entries})
	})
	mux.HandleFunc("GET "+prefix+"messages/{file}", func(w http.ResponseWriter, r *http.Request) {
		id, ext, _ := strings.Cut(r.PathValue("file"), ".")
		if !idRE.MatchString(id) {
			http.NotFound(w, r)
			return
		}
		switch ext {
		case "eml":
			b, err := os.ReadFile(filepath.Join(m.dir, id+".eml"))
			if err != nil {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "message/rfc822")
			_, _ = w.Write(b)
		case "html":
			b, err := os.ReadFile(filepath.Join(m.dir, id+".json"))
			var e Entry
			if err != nil || json.Unmarshal(b, &e) != nil {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			// The part is shown as sent, but it may not run scripts nor
			// load anything (the QR image is a cid: reference).
			w.Header().Set("Content-Security-Policy", "sandbox; default-src 'none'; style-src 'unsafe-inline'")
			_, _ = w.Write([]byte(e.HTML))
		default:
			http.NotFound(w, r)
		}
	})
	return mux
}

var page = template.Must(template.New("mailbox").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Latchkey mailbox</title>
<style>body{font-family:Arial,Helvetica,sans-serif;max-width:900px;margin:0 auto;padding:16px;color:#222}
article{border:1px solid #ddd;border-radius:4px;padding:8px 12px;margin:12px 0}
pre{white-space:pre-wrap;background:#f7f7f7;padding:8px}.meta{color:#666;font-size:13px}</style></head>
<body><main><h1>Mailbox</h1>
<p class="meta">E-mail the notification service would have sent (no SMTP server is configured). Newest first. <a href="{{.Prefix}}messages">JSON</a></p>
{{range .Messages}}<article>
<h2>{{.Subject}}</h2>
<p class="meta">To {{.To}} · from {{.From}} · {{.Date.Format "2006-01-02 15:04:05 UTC"}} · {{.Language}} ·
<a href="{{$.Prefix}}messages/{{.ID}}.html">HTML part</a> · <a href="{{$.Prefix}}messages/{{.ID}}.eml">raw</a></p>
{{if .Links}}<p>{{range .Links}}<a href="{{.}}">{{.}}</a><br>{{end}}</p>{{end}}
<pre>{{.Text}}</pre>
</article>{{else}}<p>No messages yet.</p>{{end}}
</main></body></html>`))
