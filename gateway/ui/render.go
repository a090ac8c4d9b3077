package ui

import (
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"path"
	"strings"
)

// Page is what every template sees as dot.
type Page struct {
	Lang     string
	Brand    string
	CSRF     string
	Name     string // the template's name, e.g. "sign-in"
	Errors   FormErrors
	SignedIn bool
	Username string
	Tenant   string
	Path     string
	// Notice is a one-time message (translated) shown above the content.
	Notice string
	// Data is the page's own data, from the handler.
	Data any

	rq *Request
}

// LangURL is this page in another language: the same path and query, with
// lang set (the company code of a link stays).
func (p *Page) LangURL(lang string) string {
	q := p.rq.R.URL.Query()
	q.Set("lang", lang)
	for k := range q {
		if k != "lang" && k != "tenant" && k != "return" {
			q.Del(k) // never repeat a token or anything else of a link
		}
	}
	return p.Path + "?" + q.Encode()
}

// T translates a message key into the page's language: {{.T "key"}}, or
// {{$.T "key"}} inside range and with.
func (p *Page) T(key string, args ...any) string { return p.rq.T(key, args...) }

// Field describes one form field for the "field" template: label, input,
// the error next to it (aria-describedby, aria-invalid) and hints.
type Field struct {
	Name         string
	Label        string
	Type         string
	Autocomplete string
	Value        string
	Error        string
	Hints        []string // ids of elements that describe the field
	Numeric      bool
	Optional     bool
	OptionalText string
	Autofocus    bool
}

// ID is the input's id; the summary links to it.
func (f *Field) ID() string { return "f-" + f.Name }

// ErrorID is the id of the error next to the field.
func (f *Field) ErrorID() string { return "e-" + f.Name }

// DescribedBy lists the ids that describe the field.
func (f *Field) DescribedBy() string {
	ids := append([]string(nil), f.Hints...)
	if f.Error != "" {
		ids = append(ids, f.ErrorID())
	}
	return strings.Join(ids, " ")
}

// Val sets the value shown (never for passwords).
func (f *Field) Val(v string) *Field { f.Value = v; return f }

// Hint adds the id of an element describing the field.
func (f *Field) Hint(id string) *Field { f.Hints = append(f.Hints, id); return f }

// Digits asks phones for the numeric keyboard.
func (f *Field) Digits() *Field { f.Numeric = true; return f }

// Opt marks the field optional.
func (f *Field) Opt() *Field { f.Optional = true; return f }

// Labelled replaces the label (e.g. a security question's own text).
func (f *Field) Labelled(text string) *Field { f.Label = text; return f }

// Focus puts the focus on the field when the page opens.
func (f *Field) Focus() *Field { f.Autofocus = true; return f }

// newField is the template function field: {{template "field" (field $ "username" "text" "username")}}.
// The label is the message "field.<name>"; the error is the one recorded for name.
func newField(p *Page, name, typ, autocomplete string) *Field {
	f := &Field{Name: name, Label: p.T("field." + name), Type: typ, Autocomplete: autocomplete, OptionalText: p.T("field.optional")}
	f.Error = p.Errors.Fields[name]
	return f
}

// pageTemplate is one page: the layout, the partials and the page's file.
type pageTemplate struct{ t *template.Template }

var funcs = template.FuncMap{
	"field": newField,
	// args lets a template pass several values to a partial.
	"args": func(v ...any) []any { return v },
	// answerField names the i-th security answer's field.
	"answerField": answerField,
}

// parsePages parses templates/layout.html and templates/partials.html
// with each other file of templates/ as one page, named after its file.
func parsePages(files fs.FS) (map[string]*pageTemplate, error) {
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*pageTemplate{}
	for _, n := range names {
		base := strings.TrimSuffix(path.Base(n), ".html")
		if base == "layout" || base == "partials" {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/partials.html", n)
		if err != nil {
			return nil, fmt.Errorf("ui: template %s: %w", n, err)
		}
		pages[base] = &pageTemplate{t: t}
	}
	return pages, nil
}

// render writes page name with data p.
func (s *Server) render(w io.Writer, name string, p *Page) error {
	pt, ok := s.pages[name]
	if !ok {
		return fmt.Errorf("no page template %q", name)
	}
	return pt.t.ExecuteTemplate(w, "layout", p)
}
