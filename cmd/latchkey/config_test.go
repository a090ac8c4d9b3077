package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/libs/config"
)

// notSettings are LATCHKEY_ strings in the code that are not environment
// variables: the JetStream stream names and the prefix the readers build
// names from.
var notSettings = map[string]bool{
	"LATCHKEY_EVENTS": true,
	"LATCHKEY_NOTIFY": true,
	"LATCHKEY_":       true,
}

var settingName = regexp.MustCompile(`LATCHKEY_[A-Z0-9_]*`)

// TestConfig_ListsEveryVariableAnyBinaryReads fails when a program reads a
// LATCHKEY_ variable that `latchkey config` does not list: it takes every
// LATCHKEY_ string constant in the repository's non-test Go code.
func TestConfig_ListsEveryVariableAnyBinaryReads(t *testing.T) {
	listed := map[string]bool{}
	for _, v := range allVars() {
		listed[v.Name] = true
	}
	root := filepath.Join("..", "..")
	found := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "gen" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, src, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				return true
			}
			// Names also stand inside messages ("LATCHKEY_HTTP_ADDR: %w").
			for _, name := range settingName.FindAllString(s, -1) {
				if notSettings[name] || strings.HasPrefix(name, "LATCHKEY_TEST_") || strings.HasSuffix(name, "_") {
					continue
				}
				found++
				if !listed[name] {
					t.Errorf("%s reads %s, which `latchkey config` does not list", path, name)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found < 20 {
		t.Fatalf("found only %d LATCHKEY_ strings: is the walk looking in the right place?", found)
	}
}

// TestConfig_OneMeaningPerVariable fails when two binaries read one
// variable with different defaults or descriptions.
func TestConfig_OneMeaningPerVariable(t *testing.T) {
	l := config.New(config.Empty)
	readAll(l)
	if c := l.Conflicts(); len(c) > 0 {
		t.Fatalf("read with two meanings: %v", c)
	}
}

// TestConfig_READMEHasTheTable keeps the README's table what `latchkey
// config` prints.
func TestConfig_READMEHasTheTable(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), config.Markdown(allVars())) {
		t.Fatal("README.md's configuration table differs from `latchkey config`: paste its output into the README")
	}
}
