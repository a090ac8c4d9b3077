package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/libs/mtls"
)

func TestCerts_EveryServiceGetsAnIdentityUnderOneCA(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	var out strings.Builder
	if err := certsCommand([]string{"-dir", dir, "-hosts", "account.latchkey.svc"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	caBefore, _ := os.ReadFile(filepath.Join(dir, "ca.pem"))
	// Again: the same CA, renewed service certificates.
	if err := certsCommand([]string{"-dir", dir}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	caAfter, _ := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if string(caBefore) != string(caAfter) {
		t.Fatal("a second run replaced the CA")
	}
	for _, svc := range certServices {
		id, err := mtls.LoadIdentity(filepath.Join(dir, "ca.pem"), filepath.Join(dir, svc+".pem"), filepath.Join(dir, svc+"-key.pem"))
		if err != nil {
			t.Fatalf("%s: %v", svc, err)
		}
		if id.Service != svc {
			t.Errorf("%s: certificate names %q", svc, id.Service)
		}
		st, err := os.Stat(filepath.Join(dir, svc+"-key.pem"))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s key mode: %v %v", svc, st.Mode(), err)
		}
	}
	if st, _ := os.Stat(filepath.Join(dir, "ca-key.pem")); st.Mode().Perm() != 0o600 {
		t.Errorf("CA key mode %v", st.Mode())
	}
}
