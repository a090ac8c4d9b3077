// Package config reads a program's settings from environment variables.
//
// A Loader reads typed values, keeps going past bad ones so that one run
// reports every mistake at once, and remembers every variable it was asked
// for, so the same code that reads the configuration also documents it
// (`latchkey config`, the README table).
package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Var describes one variable a program reads.
type Var struct {
	// Name is the environment variable, e.g. LATCHKEY_HTTP_ADDR.
	Name string
	// Default is the value used when the variable is unset, as text.
	Default string
	// Description says what the setting is for.
	Description string
	// Secret marks a value that must never be printed; Default is empty.
	Secret bool
}

// Loader reads variables through a lookup function and records them. It is
// not safe for concurrent use; configuration is read once at start-up.
type Loader struct {
	lookup    func(string) (string, bool)
	vars      []Var
	seen      map[string]Var
	errs      []error
	conflicts []string
}

// New returns a Loader reading through lookup, normally os.LookupEnv; tests
// pass a map's lookup instead of touching the process environment.
func New(lookup func(string) (string, bool)) *Loader {
	return &Loader{lookup: lookup, seen: make(map[string]Var)}
}

// Empty is a lookup that finds nothing: a Loader over it records every
// variable with its default, for help texts and `latchkey config`.
func Empty(string) (string, bool) { return "", false }

// raw records the variable and returns its value, or ok=false when it is
// unset or empty. Empty counts as unset because compose files and
// Kubernetes manifests routinely pass `NAME=` for "not configured".
func (l *Loader) raw(v Var) (string, bool) {
	if first, ok := l.seen[v.Name]; !ok {
		// In the all-in-one binary several services ask for the same
		// variable; it is one setting and appears once in the table.
		l.seen[v.Name] = v
		l.vars = append(l.vars, v)
	} else if first != v {
		// One setting, one meaning: two places reading it with
		// different defaults or descriptions would document only one.
		l.conflicts = append(l.conflicts, v.Name)
	}
	s, ok := l.lookup(v.Name)
	if !ok || strings.TrimSpace(s) == "" {
		return "", false
	}
	return s, true
}

func (l *Loader) fail(name, format string, args ...any) {
	l.errs = append(l.errs, fmt.Errorf("%s: "+format, append([]any{name}, args...)...))
}

// Invalid records that the variable name holds a value the program cannot
// use (a range or a combination its reader checked), so that Err reports
// it beside the parse errors.
func (l *Loader) Invalid(name string, err error) {
	if err != nil {
		l.fail(name, "%v", err)
	}
}

// Required returns the variable's value, recording an error when it is
// unset. The same variable may be optional elsewhere (the all-in-one
// binary has embedded defaults where a service binary needs an address),
// so required is a property of the read, not of the variable.
func (l *Loader) Required(name, description string) string {
	s, ok := l.raw(Var{Name: name, Description: description})
	if !ok {
		l.fail(name, "required")
	}
	return s
}

// RequiredSecret is Required for a value that must never be printed.
func (l *Loader) RequiredSecret(name, description string) string {
	s, ok := l.raw(Var{Name: name, Description: description, Secret: true})
	if !ok {
		l.fail(name, "required")
	}
	return s
}

// String returns the variable's value, or def when unset.
func (l *Loader) String(name, def, description string) string {
	s, ok := l.raw(Var{Name: name, Default: def, Description: description})
	if !ok {
		return def
	}
	return s
}

// Secret returns a value such as a database password or signing key. It
// has no default and is recorded without its value, and parse errors never
// quote it, so printing the configuration cannot leak it.
func (l *Loader) Secret(name, description string) string {
	s, _ := l.raw(Var{Name: name, Description: description, Secret: true})
	return s
}

// Int returns the variable as a base-10 integer, or def when unset.
func (l *Loader) Int(name string, def int, description string) int {
	s, ok := l.raw(Var{Name: name, Default: strconv.Itoa(def), Description: description})
	if !ok {
		return def
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		l.fail(name, "%q is not an integer", s)
		return def
	}
	return n
}

// Duration returns the variable as a Go duration such as 30s or 15m, or
// def when unset. A bare number is rejected rather than guessed to be
// seconds or nanoseconds.
func (l *Loader) Duration(name string, def time.Duration, description string) time.Duration {
	s, ok := l.raw(Var{Name: name, Default: def.String(), Description: description})
	if !ok {
		return def
	}
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		l.fail(name, "%q is not a duration (use a unit, e.g. 30s, 15m, 1h)", s)
		return def
	}
	return d
}

// Bool returns the variable as a boolean (true/false, 1/0, t/f), or def
// when unset.
func (l *Loader) Bool(name string, def bool, description string) bool {
	s, ok := l.raw(Var{Name: name, Default: strconv.FormatBool(def), Description: description})
	if !ok {
		return def
	}
	b, err := strconv.ParseBool(strings.TrimSpace(s))
	if err != nil {
		l.fail(name, "%q is not a boolean (use true or false)", s)
		return def
	}
	return b
}

// List returns the variable split at commas with blanks trimmed and empty
// items dropped, or def when unset.
func (l *Loader) List(name string, def []string, description string) []string {
	s, ok := l.raw(Var{Name: name, Default: strings.Join(def, ","), Description: description})
	if !ok {
		return def
	}
	var out []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// Err returns every error met so far, each naming its variable, or nil.
func (l *Loader) Err() error { return errors.Join(l.errs...) }

// Conflicts returns the variables read twice with different defaults or
// descriptions; a test keeps it empty.
func (l *Loader) Conflicts() []string { return append([]string(nil), l.conflicts...) }

// Vars returns the variables asked for, in the order first asked.
func (l *Loader) Vars() []Var { return append([]Var(nil), l.vars...) }

// Markdown renders vars as a table | variable | default | meaning |, for
// the README and `latchkey config`.
func Markdown(vars []Var) string {
	var b strings.Builder
	b.WriteString("| variable | default | meaning |\n|---|---|---|\n")
	for _, v := range vars {
		def := "—"
		if v.Default != "" {
			def = "`" + v.Default + "`"
		}
		desc := v.Description
		if v.Secret {
			def = "—"
			desc += " (secret)"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", v.Name, cell(def), cell(desc))
	}
	return b.String()
}

// cell keeps a value inside its table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

// Text renders vars for a terminal (a binary's -h): each variable with its
// default, then its meaning indented below.
func Text(vars []Var) string {
	var b strings.Builder
	for _, v := range vars {
		b.WriteString("  " + v.Name)
		switch {
		case v.Secret:
			b.WriteString("  (secret)")
		case v.Default != "":
			b.WriteString("  (default " + v.Default + ")")
		}
		b.WriteString("\n      " + v.Description + "\n")
	}
	return b.String()
}
