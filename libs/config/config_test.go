package config_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/libs/config"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestLoader_ReadsTypedValuesAndDefaults(t *testing.T) {
	l := config.New(env(map[string]string{
		"ADDR":    "0.0.0.0:9090",
		"WORKERS": " 8 ",
		"TTL":     "15m",
		"DEBUG":   "true",
		"ORIGINS": "https://a.example, ,https://b.example ",
		"EMPTY":   "",
	}))
	if got := l.String("ADDR", "127.0.0.1:8080", ""); got != "0.0.0.0:9090" {
		t.Errorf("String = %q", got)
	}
	if got := l.String("UNSET", "dflt", ""); got != "dflt" {
		t.Errorf("String default = %q", got)
	}
	if got := l.String("EMPTY", "dflt", ""); got != "dflt" {
		t.Errorf("empty value should mean default, got %q", got)
	}
	if got := l.Int("WORKERS", 4, ""); got != 8 {
		t.Errorf("Int = %d", got)
	}
	if got := l.Duration("TTL", time.Minute, ""); got != 15*time.Minute {
		t.Errorf("Duration = %v", got)
	}
	if got := l.Bool("DEBUG", false, ""); !got {
		t.Errorf("Bool = %v", got)
	}
	if got := l.List("ORIGINS", nil, ""); !slices.Equal(got, []string{"https://a.example", "https://b.example"}) {
		t.Errorf("List = %q", got)
	}
	if got := l.List("UNSET_LIST", []string{"x"}, ""); !slices.Equal(got, []string{"x"}) {
		t.Errorf("List default = %q", got)
	}
	if err := l.Err(); err != nil {
		t.Errorf("Err = %v", err)
	}
}

func TestLoader_CollectsEveryErrorNamingTheVariable(t *testing.T) {
	l := config.New(env(map[string]string{
		"N": "ten", "D": "30", "B": "maybe", "OK": "3",
	}))
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"N", l.Int("N", 1, ""), 1},
		{"D", l.Duration("D", time.Second, ""), time.Second},
		{"B", l.Bool("B", true, ""), true},
		{"OK", l.Int("OK", 0, ""), 3},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v (the default on error)", tt.name, tt.got, tt.want)
		}
	}
	err := l.Err()
	if err == nil {
		t.Fatal("Err = nil")
	}
	for _, want := range []string{`N: "ten" is not an integer`, `D: "30" is not a duration`, `B: "maybe" is not a boolean`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Err = %q, missing %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "OK") {
		t.Errorf("Err mentions a valid variable: %q", err)
	}
}

func TestLoader_RecordsVarsOnceAndNeverSecretValues(t *testing.T) {
	l := config.New(env(map[string]string{"DB_PASSWORD": "hunter2"}))
	l.String("ADDR", "127.0.0.1:8080", "public REST | pages")
	l.Duration("TTL", 90*time.Second, "token lifetime")
	if got := l.Secret("DB_PASSWORD", "database password"); got != "hunter2" {
		t.Errorf("Secret = %q", got)
	}
	l.String("ADDR", "other", "asked again by a second service")

	want := []config.Var{
		{Name: "ADDR", Default: "127.0.0.1:8080", Description: "public REST | pages"},
		{Name: "TTL", Default: "1m30s", Description: "token lifetime"},
		{Name: "DB_PASSWORD", Description: "database password", Secret: true},
	}
	if got := l.Vars(); !slices.Equal(got, want) {
		t.Fatalf("Vars = %+v\nwant   %+v", got, want)
	}
	md := config.Markdown(l.Vars())
	wantMD := "| variable | default | meaning |\n|---|---|---|\n" +
		"| `ADDR` | `127.0.0.1:8080` | public REST \\| pages |\n" +
		"| `TTL` | `1m30s` | token lifetime |\n" +
		"| `DB_PASSWORD` | — | database password (secret) |\n"
	if md != wantMD {
		t.Errorf("Markdown =\n%s\nwant\n%s", md, wantMD)
	}
	if strings.Contains(md, "hunter2") {
		t.Error("Markdown leaks the secret")
	}
	if got := l.Conflicts(); !slices.Equal(got, []string{"ADDR"}) {
		t.Errorf("Conflicts = %v, want ADDR (asked with another default and description)", got)
	}
}

func TestLoader_RequiredAndInvalid(t *testing.T) {
	l := config.New(env(map[string]string{"SET": "x", "BLANK": " "}))
	if got := l.Required("SET", "a set variable"); got != "x" {
		t.Errorf("Required(SET) = %q", got)
	}
	l.Required("UNSET", "an unset variable")
	l.RequiredSecret("BLANK", "a blank secret")
	l.Invalid("RANGE", errors.New("must be 1–10"))
	l.Invalid("FINE", nil)
	err := l.Err()
	if err == nil {
		t.Fatal("Err = nil")
	}
	lines := strings.Split(err.Error(), "\n")
	want := []string{"UNSET: required", "BLANK: required", "RANGE: must be 1–10"}
	if !slices.Equal(lines, want) {
		t.Errorf("Err lines = %q, want %q", lines, want)
	}
	// A required read is the same variable as an optional one elsewhere.
	l.String("UNSET", "", "an unset variable")
	if c := l.Conflicts(); len(c) != 0 {
		t.Errorf("Conflicts = %v", c)
	}
}

func TestText_ListsDefaultsAndHidesSecrets(t *testing.T) {
	l := config.New(config.Empty)
	l.String("ADDR", "127.0.0.1:8080", "listen address")
	l.Secret("TOKEN", "a token")
	got := config.Text(l.Vars())
	want := "  ADDR  (default 127.0.0.1:8080)\n      listen address\n  TOKEN  (secret)\n      a token\n"
	if got != want {
		t.Errorf("Text =\n%s\nwant\n%s", got, want)
	}
}
