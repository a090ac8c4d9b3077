package peers_test

import (
	"context"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/latchkey/latchkey/libs/errs"
	accountinternalv1 "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/account/v1"
	"github.com/latchkey/latchkey/services/recovery/internal/peers"
)

// fakeAccounts notes security changes of the accounts it knows and
// answers NotFound for the others.
type fakeAccounts struct {
	accountinternalv1.UnimplementedAccountInternalServiceServer
	known map[string]bool
	noted []*accountinternalv1.NoteSecurityChangeRequest
}

func (f *fakeAccounts) NoteSecurityChange(_ context.Context, req *accountinternalv1.NoteSecurityChangeRequest) (*accountinternalv1.NoteSecurityChangeResponse, error) {
	if !f.known[req.GetAccountId()] {
		return nil, status.Error(codes.NotFound, "no such account")
	}
	f.noted = append(f.noted, req)
	return &accountinternalv1.NoteSecurityChangeResponse{}, nil
}

func dialAccounts(t *testing.T, srv accountinternalv1.AccountInternalServiceServer) *peers.Accounts {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	if srv != nil {
		accountinternalv1.RegisterAccountInternalServiceServer(s, srv)
	}
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return peers.NewAccounts(accountinternalv1.NewAccountInternalServiceClient(conn))
}

func TestAccounts_NoteSecurityChange_SendsTheAccount_MapsErrors(t *testing.T) {
	ctx := context.Background()
	f := &fakeAccounts{known: map[string]bool{"acct": true}}
	a := dialAccounts(t, f)
	if err := a.NoteSecurityChange(ctx, "tenant", "acct"); err != nil {
		t.Fatal(err)
	}
	if len(f.noted) != 1 || f.noted[0].GetTenantId() != "tenant" || f.noted[0].GetAccountId() != "acct" {
		t.Fatalf("noted %v", f.noted)
	}
	if err := a.NoteSecurityChange(ctx, "tenant", "other"); !errs.Is(err, errs.KindNotFound) {
		t.Fatalf("unknown account: %v, want NotFound", err)
	}
	// An account service without the call yet: an error the app logs.
	if err := dialAccounts(t, nil).NoteSecurityChange(ctx, "tenant", "acct"); !errs.Is(err, errs.KindUnimplemented) {
		t.Fatalf("against an account service without the call: %v, want Unimplemented", err)
	}
}
