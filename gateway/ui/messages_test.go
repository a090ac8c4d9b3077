package ui

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// TestMessages_EveryKeyInEveryLanguage: the catalogs hold the same keys,
// and every key the templates and the code name is in them.
func TestMessages_EveryKeyInEveryLanguage(t *testing.T) {
	c, err := loadCatalogs(messageFS)
	if err != nil {
		t.Fatal(err)
	}
	for lang, m := range c {
		for k := range c[defaultLanguage] {
			if _, ok := m[k]; !ok {
				t.Errorf("%s.json lacks %q", lang, k)
			}
		}
		for k := range m {
			if _, ok := c[defaultLanguage][k]; !ok {
				t.Errorf("%s.json has %q, which en.json lacks", lang, k)
			}
		}
	}
	used := map[string]bool{}
	keyRE := regexp.MustCompile(`"((?:[a-z_]+)\.[A-Za-z_]+)"`)
	fieldRE := regexp.MustCompile(`field \$?\.? ?"([a-z_0-9]+)"`)
	scan := func(name string, b []byte) {
		for _, m := range keyRE.FindAllSubmatch(b, -1) {
			used[string(m[1])] = true
		}
		for _, m := range fieldRE.FindAllSubmatch(b, -1) {
			used["field."+string(m[1])] = true
		}
	}
	_ = fs.WalkDir(templateFS, "templates", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := fs.ReadFile(templateFS, p)
			scan(p, b)
		}
		return nil
	})
	gofiles, _ := filepath.Glob("*.go")
	for _, f := range gofiles {
		if m, _ := filepath.Match("*_test.go", f); m {
			continue
		}
		b, _ := os.ReadFile(f)
		scan(f, b)
	}
	prefixes := regexp.MustCompile(`^(layout|error|field|rule|signin|home|prompt|code|terms|newpassword|password|enroll|codes|reauth|activate|forgot|key|sent|reset|link|reason|[a-z]+)\.`)
	for k := range used {
		if !prefixes.MatchString(k) {
			continue
		}
		// Skip things that look like keys but are file names or packages.
		if regexp.MustCompile(`\.(go|html|json|css|js|png)$`).MatchString(k) || k == "field.answer" {
			continue
		}
		if _, ok := c[defaultLanguage][k]; !ok && !isNotKey(k) {
			t.Errorf("%q is used but in no catalog", k)
		}
	}
}

// isNotKey filters literals that match the key shape but are not message
// keys (proto names and the like).
func isNotKey(k string) bool {
	switch k {
	case "credential.v1", "account.v1", "ui.css", "ui.js":
		return true
	}
	for _, f := range policyFields { // the policy form's fields: API paths
		if f.Name == k {
			return true
		}
	}
	return false
}
