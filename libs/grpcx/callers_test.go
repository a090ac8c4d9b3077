package grpcx_test

import (
	"context"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/latchkey/latchkey/libs/grpcx"
	"github.com/latchkey/latchkey/libs/mtls"
)

// startInternal serves health on a TLS server whose Callers give
// Health/List to the credential service only, and returns its address.
func startInternal(t *testing.T, server *mtls.Identity) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpcx.NewServer(grpcx.ServerOptions{
		TLS:          server.ServerTLS(),
		Callers:      grpcx.Callers{healthpb.Health_List_FullMethodName: {"credential"}},
		NoReflection: true,
	})
	srv.MarkServing()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, lis) }()
	t.Cleanup(func() { cancel(); <-done })
	return lis.Addr().String()
}

func list(t *testing.T, addr string, opts grpcx.DialOptions) error {
	t.Helper()
	conn, err := grpcx.Dial(addr, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = healthpb.NewHealthClient(conn).List(ctx, &healthpb.HealthListRequest{})
	return err
}

func TestCallers_OnlyTheNamedServiceWithAValidCertificate(t *testing.T) {
	ca, err := mtls.NewCA("test", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	identity := func(ca *mtls.CA, service string) *mtls.Identity {
		id, err := ca.Identity(service, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	account := identity(ca, "account")
	addr := startInternal(t, account)

	// The service the table names is served.
	if err := list(t, addr, grpcx.DialOptions{TLS: identity(ca, "credential").ClientTLS("account")}); err != nil {
		t.Fatalf("credential: %v", err)
	}
	// Another service with a good certificate is refused.
	err = list(t, addr, grpcx.DialOptions{TLS: identity(ca, "notification").ClientTLS("account")})
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("notification: %v, want PermissionDenied", err)
	}
	// No certificate at all, or plaintext: no connection.
	if err := list(t, addr, grpcx.DialOptions{}); status.Code(err) != codes.Unavailable {
		t.Fatalf("plaintext: %v, want Unavailable", err)
	}
	noCert := identity(ca, "credential").ClientTLS("account")
	noCert.Certificates = nil
	if err := list(t, addr, grpcx.DialOptions{TLS: noCert}); status.Code(err) != codes.Unavailable {
		t.Fatalf("no client certificate: %v, want Unavailable", err)
	}
	// A certificate of another authority naming the right service.
	other, err := mtls.NewCA("other", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	forged := identity(ca, "credential").ClientTLS("account")
	forged.Certificates = identity(other, "credential").ClientTLS("account").Certificates
	if err := list(t, addr, grpcx.DialOptions{TLS: forged}); status.Code(err) != codes.Unavailable {
		t.Fatalf("foreign CA: %v, want Unavailable", err)
	}
	// The client refuses a server that is not the service it dialled.
	if err := list(t, addr, grpcx.DialOptions{TLS: identity(ca, "credential").ClientTLS("mfa")}); status.Code(err) != codes.Unavailable {
		t.Fatalf("wrong server: %v, want Unavailable", err)
	}
}
