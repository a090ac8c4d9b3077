package secretfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadOrCreate_WritesOnceOwnerOnlyThenReads(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	calls := 0
	gen := func() string { calls++; return "s3cret" }
	got, path, created, err := LoadOrCreate(dir, "kek", gen)
	if err != nil || got != "s3cret" || !created || path != filepath.Join(dir, "kek") {
		t.Fatalf("first LoadOrCreate = %q, %q, %v, %v", got, path, created, err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %v; want 0600", st.Mode().Perm())
	}
	got, _, created, err = LoadOrCreate(dir, "kek", gen)
	if err != nil || got != "s3cret" || created || calls != 1 {
		t.Fatalf("second LoadOrCreate = %q, %v, %v (generated %d times)", got, created, err, calls)
	}
}

func TestLoadOrCreate_EmptyFileIsAnErrorNamingIt(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "kek"), []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, _, err := LoadOrCreate(dir, "kek", func() string { return "new" })
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "kek")) {
		t.Fatalf("err = %v; want one naming the file", err)
	}
}
