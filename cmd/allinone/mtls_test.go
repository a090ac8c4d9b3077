package allinone_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	"github.com/latchkey/latchkey/libs/mtls"
	"github.com/latchkey/latchkey/libs/testkit"
	accountv1 "github.com/latchkey/latchkey/proto/gen/latchkey/account/v1"
	accountinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/account/v1"
)

// The services' ports admit only certificates of the deployment's CA, and
// each internal method only the services its table names: what a caller
// that merely reaches the port gets, and what a wrong service gets.
func TestInternalCalls_NeedTheRightServiceCertificate(t *testing.T) {
	inst := start(t, false, testkit.NATS(t).URL, t.TempDir())
	lookup := func(conn *grpc.ClientConn) error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := accountinternalv1.NewAccountInternalServiceClient(conn).GetTenantByCode(ctx, &accountinternalv1.GetTenantByCodeRequest{Code: "platform"})
		return err
	}
	dial := func(addr string, opt grpc.DialOption) *grpc.ClientConn {
		conn, err := grpc.NewClient(addr, opt)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn
	}
	withTLS := func(as *mtls.Identity, to string) grpc.DialOption {
		return grpc.WithTransportCredentials(credentials.NewTLS(as.ClientTLS(to)))
	}

	// The credential service may look tenants up (NotFound: no such
	// tenant, but the call got through).
	if err := lookup(peerConn(t, inst, "credential", "account")); status.Code(err) != codes.NotFound {
		t.Fatalf("credential: %v, want NotFound", err)
	}
	// No TLS at all: no connection.
	if err := lookup(dial(inst.Internal["account"], grpc.WithTransportCredentials(insecure.NewCredentials()))); status.Code(err) != codes.Unavailable {
		t.Fatalf("plaintext: %v, want Unavailable", err)
	}
	// TLS without a client certificate: no connection.
	cred, err := inst.Identity("credential")
	if err != nil {
		t.Fatal(err)
	}
	noCert := cred.ClientTLS("account")
	noCert.Certificates = nil
	if err := lookup(dial(inst.Internal["account"], grpc.WithTransportCredentials(credentials.NewTLS(noCert)))); status.Code(err) != codes.Unavailable {
		t.Fatalf("no client certificate: %v, want Unavailable", err)
	}
	// A certificate naming the right service from another CA: refused.
	other, err := mtls.NewCA("attacker", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	forgedID, err := other.Identity("credential", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	forged := cred.ClientTLS("account")
	forged.Certificates = forgedID.ClientTLS("account").Certificates
	if err := lookup(dial(inst.Internal["account"], grpc.WithTransportCredentials(credentials.NewTLS(forged)))); status.Code(err) != codes.Unavailable {
		t.Fatalf("foreign CA: %v, want Unavailable", err)
	}
	// A real service that has no business here: refused.
	if err := lookup(peerConn(t, inst, "gateway", "account")); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("gateway on the internal port: %v, want PermissionDenied", err)
	}
	if err := markActivated(peerConn(t, inst, "notification", "account")); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("notification activating an account: %v, want PermissionDenied", err)
	}
	// The public port is the gateway's alone.
	mfa, err := inst.Identity("mfa")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = accountv1.NewAccountServiceClient(dial(inst.Backends.Account, withTLS(mfa, "account"))).GetMe(ctx, &accountv1.GetMeRequest{})
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("mfa on the public port: %v, want PermissionDenied", err)
	}
	// No reflection on the internal port: it would list every method.
	stream, err := reflectionpb.NewServerReflectionClient(peerConn(t, inst, "credential", "account")).ServerReflectionInfo(ctx)
	if err == nil {
		// Send may see only io.EOF once the server has ended the stream;
		// Recv returns the stream's status either way.
		_ = stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}})
		_, err = stream.Recv()
	}
	if status.Code(err) != codes.Unimplemented {
		t.Fatalf("reflection on the internal port: %v, want Unimplemented", err)
	}
}

func markActivated(conn *grpc.ClientConn) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := accountinternalv1.NewAccountInternalServiceClient(conn).MarkActivated(ctx, &accountinternalv1.MarkActivatedRequest{TenantId: "x", AccountId: "y"})
	return err
}
