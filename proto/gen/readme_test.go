package gen_test

import (
	"os"
	"strings"
	"testing"
)

// The README's "A Go client" is Example_client, so that the code it shows
// compiles: the two bodies must stay the same.
func TestREADME_GoClientIsTheExample(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	section := between(string(readme), "## A Go client", "\n## ")
	shown := between(section, "func main() {", "\n}\n")
	compiled := between(string(example), "func Example_client() {", "\n}\n")
	if shown == "" || compiled == "" || shown != compiled {
		t.Errorf("README's Go client differs from Example_client:\n--- README\n%s\n--- example_test.go\n%s", shown, compiled)
	}
}

// between returns what s holds after start up to end ("" without start).
func between(s, start, end string) string {
	i := strings.Index(s, start)
	if i < 0 {
		return ""
	}
	s = s[i+len(start):]
	if j := strings.Index(s, end); j >= 0 {
		s = s[:j]
	}
	return s
}
