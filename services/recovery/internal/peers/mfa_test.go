package peers_test

import (
	"context"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/latchkey/latchkey/libs/errs"
	mfainternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/mfa/v1"
	"github.com/latchkey/latchkey/services/recovery/internal/peers"
)

// fakeMFA is a small MfaInternalService: status by account id, one good
// code; an account it does not know answers like the unbuilt service.
type fakeMFA struct {
	mfainternalv1.UnimplementedMfaInternalServiceServer
	status map[string]*mfainternalv1.GetFactorStatusResponse
}

func (f *fakeMFA) GetFactorStatus(ctx context.Context, req *mfainternalv1.GetFactorStatusRequest) (*mfainternalv1.GetFactorStatusResponse, error) {
	if s, ok := f.status[req.GetAccountId()]; ok {
		return s, nil
	}
	return f.UnimplementedMfaInternalServiceServer.GetFactorStatus(ctx, req)
}

func (f *fakeMFA) VerifyCode(_ context.Context, req *mfainternalv1.VerifyCodeRequest) (*mfainternalv1.VerifyCodeResponse, error) {
	return &mfainternalv1.VerifyCodeResponse{Ok: req.GetCode() == "123456" && req.GetAllowRecoveryCode()}, nil
}

func dialFake(t *testing.T, srv mfainternalv1.MfaInternalServiceServer) *peers.MFA {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	if srv != nil {
		mfainternalv1.RegisterMfaInternalServiceServer(s, srv)
	}
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return peers.NewMFA(mfainternalv1.NewMfaInternalServiceClient(conn))
}

func TestMFA_FactorOrEmailedKeyNeedsACode_UnimplementedFailsClosed(t *testing.T) {
	ctx := context.Background()
	m := dialFake(t, &fakeMFA{status: map[string]*mfainternalv1.GetFactorStatusResponse{
		"totp": {TotpEnabled: true}, "key": {EmailedKeyPending: true}, "none": {},
	}})
	for account, want := range map[string]bool{"totp": true, "key": true, "none": false} {
		if got, err := m.NeedsCode(ctx, "t", account); err != nil || got != want {
			t.Errorf("%s: needs code %v, %v; want %v", account, got, err, want)
		}
	}
	if _, err := m.NeedsCode(ctx, "t", "unbuilt"); !errs.Is(err, errs.KindUnavailable) {
		t.Fatalf("Unimplemented: %v, want Unavailable (fail closed)", err)
	}
	if ok, err := m.Verify(ctx, "t", "totp", "123456"); err != nil || !ok {
		t.Fatalf("good code (recovery codes allowed): %v %v", ok, err)
	}
	// No mfa service registered at all: every call Unimplemented.
	bare := dialFake(t, nil)
	if _, err := bare.Verify(ctx, "t", "a", "123456"); !errs.Is(err, errs.KindUnavailable) {
		t.Fatalf("verify against no mfa service: %v", err)
	}
}
