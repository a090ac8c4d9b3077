package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/latchkey/latchkey/libs/mtls"
)

// Services are the names that get a certificate: the five services and the
// gateway, each its own caller identity.
var certServices = []string{"account", "credential", "recovery", "mfa", "notification", "gateway"}

const certsUsage = `usage: latchkey certs [-dir DIR] [-days N] [-hosts h1,h2]

Makes a development certificate authority (ca.pem, ca-key.pem) in DIR,
unless one is there, and a certificate and key for each service and the
gateway (<name>.pem, <name>-key.pem), which name the service in a URI SAN
(latchkey://service/<name>) and carry the service name, localhost,
127.0.0.1 and the -hosts as host names. Point each binary at its files
with LATCHKEY_TLS_CA_FILE, LATCHKEY_TLS_CERT_FILE and LATCHKEY_TLS_KEY_FILE.
In production use your own CA (cert-manager, Vault...) with the same URI.
`

// certsCommand runs `latchkey certs`.
func certsCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("certs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, certsUsage); fs.PrintDefaults() }
	dir := fs.String("dir", "certs", "folder to write into")
	days := fs.Int("days", 365, "validity of the service certificates, days (the CA gets ten years)")
	hosts := fs.String("hosts", "", "comma-separated extra host names or IPs for every certificate")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("certs: unexpected argument %q", fs.Arg(0))
	}
	if *days < 1 {
		return errors.New("certs: -days must be at least 1")
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return err
	}
	ca, created, err := loadOrCreateCA(*dir)
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(stdout, "new CA: %s\n", filepath.Join(*dir, "ca.pem"))
	}
	var extra []string
	for h := range strings.SplitSeq(*hosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			extra = append(extra, h)
		}
	}
	for _, svc := range certServices {
		cert, key, err := ca.Issue(svc, time.Duration(*days)*24*time.Hour, append([]string{svc, "localhost", "127.0.0.1"}, extra...)...)
		if err != nil {
			return err
		}
		if err := writeFile(filepath.Join(*dir, svc+".pem"), cert, 0o644); err != nil {
			return err
		}
		if err := writeFile(filepath.Join(*dir, svc+"-key.pem"), key, 0o600); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: %s, %s\n", svc, filepath.Join(*dir, svc+".pem"), filepath.Join(*dir, svc+"-key.pem"))
	}
	return nil
}

// loadOrCreateCA reads dir's CA, or makes one when there is none, so that
// running the command again renews the service certificates under the
// same authority.
func loadOrCreateCA(dir string) (*mtls.CA, bool, error) {
	certPath, keyPath := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca-key.pem")
	certPEM, err := os.ReadFile(certPath)
	if err == nil {
		keyPEM, err := os.ReadFile(keyPath)
		if err != nil {
			return nil, false, err
		}
		ca, err := mtls.LoadCA(certPEM, keyPEM)
		return ca, false, err
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	ca, err := mtls.NewCA("Latchkey development CA", 10*365*24*time.Hour)
	if err != nil {
		return nil, false, err
	}
	keyPEM, err := ca.KeyPEM()
	if err != nil {
		return nil, false, err
	}
	if err := writeFile(keyPath, keyPEM, 0o600); err != nil {
		return nil, false, err
	}
	return ca, true, writeFile(certPath, ca.CertPEM(), 0o644)
}

func writeFile(path string, data []byte, mode os.FileMode) error {
	if err := os.WriteFile(path, data, mode); err != nil {
		return err
	}
	return os.Chmod(path, mode) // WriteFile keeps the mode of a file already there
}
