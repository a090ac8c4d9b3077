// Package mtls is how Latchkey's services prove to each other who they
// are: every call between them runs over TLS with a certificate on both
// sides, issued by one certificate authority (the deployment's, or one
// `latchkey certs` or the all-in-one makes), and each certificate names its
// service in a URI SAN, latchkey://service/<name>. A server learns its
// caller's service from the verified client certificate (PeerService) and
// decides per method; a client checks that it reached the service it
// dialled, whatever host name the address had.
package mtls

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
)

// uriPrefix starts the URI SAN that names a certificate's service.
const uriPrefix = "latchkey://service/"

// ServiceURI is the URI SAN of service's certificate.
func ServiceURI(service string) *url.URL {
	u, _ := url.Parse(uriPrefix + service)
	return u
}

// ServiceOf returns the service a certificate names, from its single
// latchkey://service/ URI SAN.
func ServiceOf(cert *x509.Certificate) (string, bool) {
	var name string
	for _, u := range cert.URIs {
		if s, ok := strings.CutPrefix(u.String(), uriPrefix); ok {
			if name != "" || s == "" {
				return "", false // two names, or an empty one: trust neither
			}
			name = s
		}
	}
	return name, name != ""
}

// Identity is one service's certificate and the authority it trusts for
// its peers.
type Identity struct {
	// Service is the name in the certificate.
	Service string
	cert    tls.Certificate
	roots   *x509.CertPool
}

// NewIdentity builds an identity from PEM: the CA certificate(s) trusted
// for peers, this service's certificate chain and its private key.
func NewIdentity(caPEM, certPEM, keyPEM []byte) (*Identity, error) {
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("mtls: no CA certificate in the CA file")
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("mtls: certificate and key: %w", err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("mtls: certificate: %w", err)
	}
	service, ok := ServiceOf(leaf)
	if !ok {
		return nil, fmt.Errorf("mtls: the certificate names no service (a URI SAN %s<name>)", uriPrefix)
	}
	// A certificate the peers would refuse is better found at start.
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: intermediates(cert), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth}}); err != nil {
		return nil, fmt.Errorf("mtls: the certificate is not issued by the CA: %w", err)
	}
	cert.Leaf = leaf
	return &Identity{Service: service, cert: cert, roots: roots}, nil
}

// LoadIdentity reads NewIdentity's PEM from files.
func LoadIdentity(caFile, certFile, keyFile string) (*Identity, error) {
	var pems [3][]byte
	for i, f := range []string{caFile, certFile, keyFile} {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("mtls: %w", err)
		}
		pems[i] = b
	}
	return NewIdentity(pems[0], pems[1], pems[2])
}

func intermediates(c tls.Certificate) *x509.CertPool {
	pool := x509.NewCertPool()
	for _, der := range c.Certificate[1:] {
		if cert, err := x509.ParseCertificate(der); err == nil {
			pool.AddCert(cert)
		}
	}
	return pool
}

// ServerTLS is the TLS configuration of a service's listeners: it presents
// the service's certificate and admits only clients with a certificate
// from the CA that names a service.
func (id *Identity) ServerTLS() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{id.cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    id.roots,
		VerifyPeerCertificate: func(_ [][]byte, chains [][]*x509.Certificate) error {
			if len(chains) == 0 || len(chains[0]) == 0 {
				return errors.New("mtls: no verified client certificate")
			}
			if _, ok := ServiceOf(chains[0][0]); !ok {
				return errors.New("mtls: the client certificate names no service")
			}
			return nil
		},
	}
}

// ClientTLS is the TLS configuration for calls to service: the server must
// present a certificate from the CA naming that service. The name, not the
// host name of the address, is checked, so "dns:///account:7101", a pod IP
// and 127.0.0.1 all work.
func (id *Identity) ClientTLS(service string) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{id.cert},
		// Host names are not checked (VerifyConnection checks the chain
		// and the service name instead); this is how SPIFFE-style
		// identities are verified with crypto/tls.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("mtls: the server presented no certificate")
			}
			leaf := cs.PeerCertificates[0]
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			if _, err := leaf.Verify(x509.VerifyOptions{Roots: id.roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
				return fmt.Errorf("mtls: server certificate: %w", err)
			}
			if got, ok := ServiceOf(leaf); !ok || got != service {
				return fmt.Errorf("mtls: reached %q, want the %s service", got, service)
			}
			return nil
		},
	}
}

// PeerService returns the service of the caller of a gRPC call on a
// server using ServerTLS.
func PeerService(ctx context.Context) (string, bool) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return "", false
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(info.State.VerifiedChains) == 0 || len(info.State.VerifiedChains[0]) == 0 {
		return "", false
	}
	return ServiceOf(info.State.VerifiedChains[0][0])
}
