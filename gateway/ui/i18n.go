package ui

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// defaultLanguage is the fallback language; its catalog must hold every key.
const defaultLanguage = "en"

// catalogs are the message catalogs by language (messages/<lang>.json:
// one flat object of key → text; a text with %s, %d takes arguments).
type catalogs map[string]map[string]string

func loadCatalogs(files fs.FS) (catalogs, error) {
	names, err := fs.Glob(files, "messages/*.json")
	if err != nil {
		return nil, err
	}
	c := catalogs{}
	for _, n := range names {
		b, err := fs.ReadFile(files, n)
		if err != nil {
			return nil, err
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("ui: messages %s: %w", n, err)
		}
		c[strings.TrimSuffix(path.Base(n), ".json")] = m
	}
	if _, ok := c[defaultLanguage]; !ok {
		return nil, fmt.Errorf("ui: no %s message catalog", defaultLanguage)
	}
	return c, nil
}

// has reports whether there is a catalog for lang.
func (c catalogs) has(lang string) bool {
	_, ok := c[lang]
	return ok && lang != ""
}

// T is the text of key in lang, else in English, else the key itself
// (which a test catches).
func (c catalogs) T(lang, key string, args ...any) string {
	msg, ok := c[lang][key]
	if !ok {
		msg, ok = c[defaultLanguage][key]
	}
	if !ok {
		return key
	}
	if len(args) > 0 {
		return fmt.Sprintf(msg, args...)
	}
	return msg
}

// Languages are the languages there are catalogs for.
func (c catalogs) Languages() []string {
	var out []string
	for l := range c {
		out = append(out, l)
	}
	return out
}
